package simulator

import (
	"fmt"
	"sync"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// DeclFacts summarises one generated declaration for the generators of the
// processes that follow from it (refunds, voucher checks, guarantees, cases,
// audits...). Times are platform local; a zero time means the step had not
// happened by the end of the simulation.
type DeclFacts struct {
	DeclNo       string
	Sub          *Dept // the subordinate customs that accepted it
	IE           string
	TradeMode    string
	Consignee    *Ent
	Broker       *Ent
	ManualNo     string       // processing-trade manual, "" if none
	ArrivalDate  schemas.Date // imports only; 0 for exports
	DeclaredAt   time.Time
	ReleasedAt   time.Time
	Status       string // as of the end of the simulation
	CustomsValue schemas.Money
	Duty         schemas.Money
	VAT          schemas.Money
	GuaranteeNo  string
	Reviewer     *Officer // manual review, nil if none
	Inspection   string   // inspection_id, "" if not inspected
	Result       string   // inspection result: match or mismatch
	Inspector    *Officer // the inspection's lead officer, once it started
	Releaser     *Officer
	Vouchers     []VoucherFacts
}

// VoucherFacts summarises one tax voucher of a declaration.
type VoucherFacts struct {
	VoucherNo string
	TaxType   string
	Amount    schemas.Money
	IssuedOn  schemas.Date
	PaidOn    *schemas.Date
	Taxpayer  string // the taxpayer's USCC
}

// followUp is a generator of processes that follow from the declarations.
type followUp func(w *World, facts []*DeclFacts) *Emitter

// Generate builds the whole simulated dataset for cfg. The same config gives
// the same dataset, byte for byte.
func Generate(cfg Config) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := newWorld(cfg)
	em := newEmitter(w.End)
	w.emitReference(em)
	clearance, facts := w.generateClearance()
	// The statistical relationship rules (C01, C02, B08) are judged on the
	// whole period's clearance, so their truth comes after all its days.
	w.relationshipTruth(clearance, facts)
	em.Merge(clearance)
	followUps := []followUp{(*World).generateTax, (*World).generateProcedures, (*World).generateSupervision, (*World).generateArrears}
	out := make([]*Emitter, len(followUps))
	var wg sync.WaitGroup
	for i, f := range followUps {
		wg.Go(func() { out[i] = f(w, facts) })
	}
	wg.Wait()
	for _, o := range out {
		em.Merge(o)
	}
	if err := em.escalateOverriddenControls(); err != nil {
		return nil, err
	}
	// C04 is about the a/b warnings themselves: it follows all of them.
	for _, t := range pairWarningTruth(em.truth) {
		em.Truth(t)
	}
	em.Merge(w.generateDisposals(em.truth))
	return em.dataset(cfg)
}

// escalateOverriddenControls raises B07 (a system control order cancelled
// by hand) to red where the enterprise has a case filed on or after the
// override: the rule's red grade, which only shows once the supervision
// generator has made the cases.
func (em *Emitter) escalateOverriddenControls() error {
	cases, err := schemas.Lookup("cases")
	if err != nil {
		return err
	}
	latest := map[string]schemas.Date{} // ent_code → latest filing
	for _, r := range em.records[cases.Name] {
		rec, err := cases.Decode(r.JSON)
		if err != nil {
			return fmt.Errorf("simulator made an invalid case: %w", err)
		}
		c := rec.(*schemas.Case)
		if c.EntCode != nil && c.FiledOn != nil && *c.FiledOn > latest[*c.EntCode] {
			latest[*c.EntCode] = *c.FiledOn
		}
	}
	for i, t := range em.truth {
		if t.RuleID == "B07" && t.EntCode != "" && latest[t.EntCode] >= t.Date {
			em.truth[i].Colour = "red"
			em.truth[i].Note += "; the enterprise later had a case"
		}
	}
	return nil
}
