package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// modifyRules are the rules of modification requests and fee waivers.
var modifyRules = []string{"A14", "B03", "B04", "B11", "B12"}

// listedWaiverGrounds are the grounds on which a fee may be waived.
var listedWaiverGrounds = []string{"JM01", "JM02", "JM03", "JM04"}

// modificationBreaches re-derives A14, B03, B04, B11 and B12 from the records.
func (v *clearanceView) modificationBreaches() []breach {
	var out []breach
	out = append(out, v.slowRequests()...)
	out = append(out, v.changesInControl()...)
	out = append(out, v.taxCuts()...)
	out = append(out, v.feeWaivers()...)
	return out
}

// slowRequests is A14: the limit is the 20th working day after the request
// (30th with an extension); working days overdue are counted to the
// decision, or to the last day while it is open.
func (v *clearanceView) slowRequests() []breach {
	var out []breach
	for id, m := range v.mods {
		wd := 20
		if m.ExtensionApproved != nil && *m.ExtensionApproved {
			wd = 30
		}
		limit := v.w.Cal.AddWorkdays(schemas.DateOf(*m.RequestedAt), wd)
		upto, officer := v.w.cfg.LastDay(), ""
		if m.DecidedAt != nil {
			upto, officer = schemas.DateOf(*m.DecidedAt), *m.OfficerID
		}
		n := v.w.Cal.WorkdaysBetween(limit, upto)
		if n < 1 {
			continue
		}
		colour := "red"
		if n <= 10 {
			colour = "yellow"
		} else if n <= 25 {
			colour = "orange"
		}
		out = append(out, breach{rule: "A14", key: id, objectType: "modification_requests", date: v.w.Cal.AddWorkdays(limit, 1), colour: colour, officer: officer})
	}
	return out
}

// requestApproved reports whether a request was decided and approved.
func requestApproved(m *schemas.ModificationRequest) bool {
	return m.DecidedAt != nil && m.Decision != nil && *m.Decision == "approved"
}

// changesInControl is B03: approved while a control order or its
// inspection was open, from the order's issue (or the inspection's
// assignment) to the inspection's end, or else the order's cancellation
// or execution.
func (v *clearanceView) changesInControl() []breach {
	type window struct{ open, close time.Time } // close zero: still open
	windows := map[string]window{}
	insps := map[string]*schemas.Inspection{}
	for _, in := range v.insps {
		insps[*in.DeclNo] = in
	}
	for _, o := range v.orders {
		w := window{open: *o.IssuedAt}
		switch in := insps[*o.DeclNo]; {
		case in != nil && in.FinishedAt != nil:
			w.close = *in.FinishedAt
		case in != nil:
		case o.CancelledAt != nil:
			w.close = *o.CancelledAt
		case *o.Status != "active":
			w.close = o.UpdatedAt
		}
		windows[*o.DeclNo] = w
	}
	var out []breach
	for id, m := range v.mods {
		w, ok := windows[*m.DeclNo]
		if !ok || !requestApproved(m) || m.DecidedAt.Before(w.open) || (!w.close.IsZero() && !m.DecidedAt.Before(w.close)) {
			continue
		}
		colour := "orange"
		if money(m.TaxDelta) < 0 {
			colour = "red"
		}
		out = append(out, breach{rule: "B03", key: id, objectType: "modification_requests", date: schemas.DateOf(*m.DecidedAt), colour: colour, officer: *m.OfficerID})
	}
	return out
}

// modQuarter labels the quarter of d.
func modQuarter(d schemas.Date) string {
	t := d.Time()
	return fmt.Sprintf("%dQ%d", t.Year(), (int(t.Month())+2)/3)
}

// taxCuts is B11 (an HS code changed to a lower duty rate without a ground
// code) and B04 (an approved change after release that lowers the tax; three
// or more by one officer in a quarter are at least orange).
func (v *clearanceView) taxCuts() []breach {
	var out, b04 []breach
	per := map[[2]string]int{}
	for id, m := range v.mods {
		if !requestApproved(m) {
			continue
		}
		day, lost := schemas.DateOf(*m.DecidedAt), -money(m.TaxDelta)
		if m.GroundCode == nil && lowerRateCode(*m.Changes) {
			out = append(out, breach{rule: "B11", key: id, objectType: "modification_requests", date: day, colour: byM1M2(max(lost, 0)), officer: *m.OfficerID})
		}
		d := v.decls[*m.DeclNo]
		if lost > 0 && d != nil && d.ReleasedAt != nil && d.ReleasedAt.Before(*m.DecidedAt) {
			b04 = append(b04, breach{rule: "B04", key: id, objectType: "modification_requests", date: day, colour: byM1M2(lost), officer: *m.OfficerID})
			per[[2]string{*m.OfficerID, modQuarter(day)}]++
		}
	}
	for _, b := range b04 {
		if per[[2]string{b.officer, modQuarter(b.date)}] >= 3 && b.colour == "yellow" {
			b.colour = "orange"
		}
		out = append(out, b)
	}
	return out
}

// lowerRateCode reports whether a changes array changes the HS code and
// lowers the duty rate.
func lowerRateCode(changes schemas.RawJSON) bool {
	var cs []struct{ Field, Before, After string }
	if json.Unmarshal([]byte(changes), &cs) != nil {
		return false
	}
	code, lower := false, false
	for _, c := range cs {
		switch c.Field {
		case "hs_code":
			code = c.Before != c.After
		case "duty_rate":
			b, e1 := strconv.ParseFloat(c.Before, 64)
			a, e2 := strconv.ParseFloat(c.After, 64)
			lower = e1 == nil && e2 == nil && a < b
		}
	}
	return code && lower
}

// waiverDetail is a fee_waiver or fee-computing step's detail.
type waiverDetail struct {
	VoucherNo  string `json:"voucher_no"`
	GroundCode string `json:"ground_code"`
	Amount     string `json:"amount"`
}

// feeWaivers is B12: a fee_waiver step without a listed ground, or taken by
// the officer of the tariff_review step that computed the fee.
func (v *clearanceView) feeWaivers() []breach {
	var out []breach
	for _, evs := range v.events {
		computer := map[string]string{}
		for _, e := range evs {
			var d waiverDetail
			if e.Detail != nil {
				json.Unmarshal([]byte(*e.Detail), &d)
			}
			switch {
			case *e.Step == "tariff_review" && *e.Outcome == "fee_assessed":
				computer[d.VoucherNo] = *e.OfficerID
			case *e.Step == "fee_waiver":
				byComputer := d.VoucherNo != "" && computer[d.VoucherNo] == *e.OfficerID
				if slices.Contains(listedWaiverGrounds, d.GroundCode) && !byComputer {
					continue
				}
				amount, _ := strconv.ParseFloat(d.Amount, 64)
				out = append(out, breach{rule: "B12", key: e.EventID, objectType: "declaration_events", date: schemas.DateOf(*e.OccurredAt),
					colour: byM1M2(schemas.Money(math.Round(amount * 100))), officer: *e.OfficerID})
			}
		}
	}
	return out
}

func TestModifyRulesPlanted(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0.01, 0.03)
	colours := map[string]map[string]bool{}
	for _, r := range v.ds.Truth {
		if slices.Contains(modifyRules, r.RuleID) {
			if colours[r.RuleID] == nil {
				colours[r.RuleID] = map[string]bool{}
			}
			colours[r.RuleID][r.Colour] = true
		}
	}
	for _, rule := range modifyRules {
		if len(colours[rule]) == 0 {
			t.Errorf("rule %s: no truth rows at a 3 %% anomaly rate", rule)
		}
	}
	for _, rule := range []string{"A14", "B03"} {
		if len(colours[rule]) < 2 {
			t.Errorf("rule %s: only colours %v", rule, colours[rule])
		}
	}
}

func TestModifyBackgroundRate(t *testing.T) {
	t.Parallel()
	const rate = 0.05
	v := clearanceViewFor(rate, 0)
	got := map[string]int{}
	for _, r := range v.ds.Truth {
		got[r.RuleID]++
	}
	for _, rule := range modifyRules {
		n := v.stats[rule]
		if n < 100 {
			t.Errorf("rule %s: only %d eligible objects", rule, n)
			continue
		}
		mean, sd := float64(n)*rate, math.Sqrt(float64(n)*rate*(1-rate))
		k := float64(got[rule])
		// An A14 request planted late may still be inside its limit at
		// the end, so some never become breaches.
		if k > mean+4*sd+1 || (rule != "A14" && k < mean-4*sd-1) || k < mean/3 {
			t.Errorf("rule %s: %v background breaches among %d eligible, want about %.0f ± %.0f", rule, k, n, mean, 4*sd)
		}
	}
}

func TestModifyNormalActivity(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0, 0)
	if b := v.modificationBreaches(); len(b) > 0 {
		t.Fatalf("%d breaches without any rate, e.g. %+v", len(b), b[0])
	}
	var backlog, open, cancels, assessed, waivers int
	for _, m := range v.mods {
		if (*m.DeclNo)[9] == '4' {
			backlog++
			if m.DecidedAt == nil {
				open++
			}
		}
		if *m.Kind == "cancel" {
			cancels++
		}
	}
	vouchers := map[string]*schemas.TaxVoucher{}
	for _, vs := range v.vouchers {
		for _, x := range vs {
			vouchers[x.VoucherNo] = x
		}
	}
	for no, evs := range v.events {
		for _, e := range evs {
			var d waiverDetail
			if e.Detail != nil {
				json.Unmarshal([]byte(*e.Detail), &d)
			}
			switch {
			case *e.Step == "tariff_review" && *e.Outcome == "fee_assessed":
				assessed++
			case *e.Step == "fee_waiver" && d.VoucherNo != "":
				waivers++
				x := vouchers[d.VoucherNo]
				if x == nil || *x.DeclNo != no || x.WaivedBy == nil || *x.WaivedBy != *e.OfficerID || x.WaiverReason == nil || *x.WaiverReason != d.GroundCode {
					t.Errorf("waiver %s does not match voucher %s", e.EventID, d.VoucherNo)
				}
			}
		}
	}
	for what, n := range map[string]int{"backlog requests": backlog, "open backlog requests": open, "cancellations": cancels,
		"fees computed by an officer": assessed, "fee waivers": waivers} {
		if n == 0 {
			t.Errorf("no %s", what)
		}
	}
	if backlog < 200 {
		t.Errorf("only %d backlog requests at small scale", backlog)
	}
}

func TestModifyBacklogNumbers(t *testing.T) {
	t.Parallel()
	v := clearanceViewFor(0, 0)
	for id, m := range v.mods {
		if !strings.HasPrefix(id, "XG"+*m.DeclNo) {
			t.Fatalf("request %s on declaration %s", id, *m.DeclNo)
		}
		if _, ok := v.decls[*m.DeclNo]; !ok && !m.RequestedAt.Before(v.w.Start) {
			t.Errorf("request %s in the simulated period on a declaration outside the data", id)
		}
	}
}
