package simulator

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// declPlan is one declaration's whole life as generated, before it is
// written out as record versions. Steps after the simulation's end are
// planned too; the Emitter drops them and the facts ignore them.
type declPlan struct {
	rec               schemas.Declaration // the fields that never change
	sub               *Dept
	consignee, broker *Ent
	ties              []*Officer // officers tied to the consignee or broker (C05)
	items             []schemas.DeclarationItem
	taxed             bool
	states            []state
	events            []event
	autoAt            time.Time // auto review
	routedAt          time.Time // auto review sent it to manual review
	reviewer          *Officer
	reviewedAt        time.Time
	order             *orderPlan
	insp              *inspPlan
	mods              []*modPlan
	reqs              []*reqPlan // requests planted once the plan is complete (clearance_modify.go)
	vouchers          []*voucherPlan
	releaser          *Officer
	releasedAt        time.Time
	b16               *b16Plan
	b10               *b10Plan
	fast              *fastTrack // the officer fast-tracking it (C08), nil if none
}

// state is a change of the declaration's status.
type state struct {
	status string
	at     time.Time
}

// event is one declaration_events row; officer nil for system steps.
type event struct {
	step    string
	officer *Officer
	at      time.Time
	outcome string
	detail  string // a JSON object, "" for none
}

// dayGen generates the declarations accepted on one day.
type dayGen struct {
	w    *World
	env  *clearanceEnv
	rota *rota
	rng  *rand.Rand
	day  schemas.Date
	res  *dayResult
	// reassigns is how many manual reviews a sub's chief has reassigned
	// today: at most one a fortnight, so no officer collects five a quarter
	// (C03) by chance.
	reassigns map[*Dept]int
	// offHours are the B15 anomalies of the day's release officers, by sub.
	offHours map[*Dept][]*offHoursPlan
}

// clearanceDay generates day i: about DeclsPerDay declarations on a working
// day, a tenth of that on a day off, spread over the subordinate customs.
func (w *World) clearanceDay(env *clearanceEnv, r *rota, i int) *dayResult {
	g := &dayGen{
		w: w, env: env, rota: r, rng: w.rng("clearance", i), day: w.cfg.Start.AddDays(i),
		res:       &dayResult{em: newEmitter(w.End), stats: clearanceStats{}},
		reassigns: map[*Dept]int{},
	}
	g.offHours = g.offHoursPlans()
	n := w.scale.DeclsPerDay
	if !w.Cal.IsWorkday(g.day) {
		n /= 10
	}
	n = n * (90 + g.rng.IntN(21)) / 100
	// Declarations come in between 07:00 and 23:00; serials follow acceptance.
	offsets := make([]int, n)
	for k := range offsets {
		offsets[k] = 7*3600 + g.rng.IntN(16*3600)
	}
	slices.Sort(offsets)
	serial := make([]int, len(w.Subs))
	for _, off := range offsets {
		sub := w.Subs[g.rng.IntN(len(w.Subs))]
		serial[sub.Index]++
		p := g.declaration(sub, serial[sub.Index], g.day.Time().Add(time.Duration(off)*time.Second))
		g.emit(p)
	}
	g.offHoursTruth()
	return g.res
}

// declaration plans one declaration from acceptance to release and after.
func (g *dayGen) declaration(sub *Dept, serial int, at time.Time) *declPlan {
	p := g.basics(sub, serial, at)
	g.arrival(p)
	g.undeclared(p)
	g.undervalue(p)
	g.autoReview(p)
	g.fastTrack(p)
	ready, ok := g.review(p)
	if !ok {
		return p
	}
	if p.order != nil && p.order.action == "inspect" && p.order.cancelledBy == nil {
		ready = g.inspect(p, ready)
	}
	ready, ok = g.modifyBefore(p, ready)
	if !ok {
		return p
	}
	g.release(p, ready)
	g.undervaluedTruth(p)
	g.modifyAfter(p)
	return p
}

// deviate asks w.deviation about an eligible object and counts it.
func (g *dayGen) deviate(rule string) string {
	g.res.stats[rule]++
	return g.w.deviation(g.rng, rule)
}

// truth records a breach of a rule about one declaration.
func (g *dayGen) truth(p *declPlan, t TruthRow) {
	if t.EntCode == "" {
		t.EntCode = p.consignee.Code
	}
	g.res.em.Truth(t)
}

var tradeModes = []struct {
	code       string
	imp, exp   int // weights per mille
	taxImports bool
}{
	{"0110", 700, 650, true},
	{"0214", 50, 80, false},
	{"0615", 80, 100, false},
	{"2600", 20, 20, false},
	{"4561", 20, 30, false},
	{"9610", 130, 120, true},
}

// basics draws who declares what: direction, trade mode, parties, goods and tax.
func (g *dayGen) basics(sub *Dept, serial int, at time.Time) *declPlan {
	rng := g.rng
	imp := rng.IntN(100) < 60
	ie, digit := "E", '0'
	if imp {
		ie, digit = "I", '1'
	}
	u, mode, taxed := rng.IntN(1000), "", false
	for _, m := range tradeModes {
		w := m.exp
		if imp {
			w = m.imp
		}
		if u < w {
			mode, taxed = m.code, imp && m.taxImports
			break
		}
		u -= w
	}
	p := &declPlan{sub: sub, consignee: g.w.PickConsignee(rng, sub), taxed: taxed}
	p.broker = g.w.PickBroker(rng, p.consignee)
	p.ties = append(slices.Clone(g.env.ties[p.consignee]), g.env.ties[p.broker]...)
	no := fmt.Sprintf("%s%04d%c%03d%06d", sub.CustomsCode, at.Year(), digit, at.YearDay(), serial)
	value := drawValue(rng)
	p.items = items(rng, no, value, taxed)
	duty := dutyOf(p.items)
	vat := schemas.Money(0)
	if taxed {
		vat = vatOf(value, duty)
	}
	p.rec = schemas.Declaration{
		DeclNo: no, CustomsCode: ptr(sub.CustomsCode), IEFlag: ptr(ie), TradeMode: ptr(mode),
		ConsigneeCode: ptr(p.consignee.Code), DeclarantCode: ptr(p.broker.Code), DeclaredAt: ptr(at),
		CustomsValue: ptr(value), DutyPayable: ptr(duty), VATPayable: ptr(vat), AggregatedTax: ptr(false),
	}
	if mode == "0214" || mode == "0615" {
		p.rec.ManualNo = ptr(manualNo(mode, sub, p.consignee, rng.IntN(2)))
	}
	if taxed && p.consignee.Credit == "advanced_certified" && rng.IntN(10) < 6 {
		p.rec.AggregatedTax = ptr(true)
	} else if (taxed && rng.IntN(100) < 3) || (imp && mode == "2600") {
		p.rec.GuaranteeNo = ptr("DB" + no)
	}
	// The platform starts sending a field the contract does not name yet.
	if schemas.DateOf(at) >= g.env.extra && rng.IntN(10) < 3 {
		p.rec.Extra = schemas.RawJSON(`{"transport_mode":"` + []string{"2", "4", "5"}[rng.IntN(3)] + `"}`)
	}
	p.states = []state{{"accepted", at}}
	p.events = []event{{step: "accept", at: at, outcome: "accepted"}}
	return p
}

// manualNo is one of an enterprise's two processing-trade manuals: B for
// 来料加工 (0214), C for 进料加工 (0615), then the customs code and seven
// characters derived from the enterprise.
func manualNo(mode string, sub *Dept, e *Ent, k int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", e.Code, k)
	s := "000000" + strings.ToUpper(strconv.FormatUint(h.Sum64(), 36))
	letter := "C"
	if mode == "0214" {
		letter = "B"
	}
	return letter + sub.CustomsCode + s[len(s)-7:]
}

// tied reports whether o declared an interest in the declaration's consignee or broker.
func (p *declPlan) tied(o *Officer) bool {
	return slices.Contains(p.ties, o)
}

// tiedEnt is the enterprise of the declaration that o declared an interest in.
func (p *declPlan) tiedEnt(w *World, o *Officer) *Ent {
	for _, in := range w.Interests {
		if in.Officer == o && (in.Ent == p.consignee || in.Ent == p.broker) {
			return in.Ent
		}
	}
	return nil
}

// status is the declaration's status just before t.
func (p *declPlan) status(t time.Time) string {
	s := ""
	for _, st := range p.states {
		if st.at.Before(t) {
			s = st.status
		}
	}
	return s
}
