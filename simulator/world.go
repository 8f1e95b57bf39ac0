package simulator

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/schemas/calendar"
)

// Dept is a node of the simulated department tree.
type Dept struct {
	ID          string
	Name        string
	Level       string // headquarters, direct_customs, subordinate_customs, section
	Function    string
	CustomsCode string
	Parent      *Dept
	Sub         *Dept // the subordinate customs a section belongs to; itself for one
	Direct      *Dept // the direct customs above, itself for one
	Index       int   // position among World.Subs, for subordinate customs
}

// Posting is an officer's post from a date on.
type Posting struct {
	From schemas.Date
	Dept *Dept
	Post string
}

// Officer is a simulated officer with the postings of their career, oldest first.
type Officer struct {
	ID       string
	Name     string
	Leader   bool
	Postings []Posting
}

// At is the officer's posting on day d (the first posting before it began).
func (o *Officer) At(d schemas.Date) Posting {
	p := o.Postings[0]
	for _, q := range o.Postings[1:] {
		if q.From <= d {
			p = q
		}
	}
	return p
}

// Ent is a simulated enterprise.
type Ent struct {
	Code    string
	USCC    string
	Name    string
	Kind    string // consignee, broker or both
	Credit  string
	Sub     *Dept   // where it is registered
	Brokers []*Ent  // usual brokers, for a consignee
	weight  float64 // share of its customs' declarations
}

// Shift is one roster row: an officer's hours on a day other than the default.
type Shift struct {
	Start, End time.Time
	Deleted    bool // the row was withdrawn: default hours apply again
}

// World is the simulated administration: departments, officers, enterprises,
// duty rosters and the calendar, built once from the config. Generators read
// it concurrently; nothing in it changes after newWorld returns.
type World struct {
	cfg   Config
	scale Scale
	Cal   *calendar.Calendar
	Start time.Time // the simulation's first moment
	End   time.Time // the first moment after it

	HQ       *Dept
	Directs  []*Dept
	Subs     []*Dept
	Depts    []*Dept
	Officers []*Officer
	officer  map[string]*Officer
	staff    map[staffKey][]*Officer // everyone who ever held the post in the sub

	Ents       []*Ent
	Brokers    []*Ent
	consignees map[*Dept][]*Ent // by registering customs, weights cumulative
	cumWeight  map[*Dept][]float64

	roster    map[string]map[schemas.Date]Shift
	Interests []Interest
	// collusions are the planted biases of officer assignment (C01, C02).
	collusions map[collusionKey]*collusion
	// suppressors are the planted inspection officers who find nothing (B08), with the source.
	suppressors map[*Officer]string
	// favourites are, per subordinate customs, the reviewers its clearance
	// chief hands reviews to (C03), most favoured first.
	favourites map[*Dept][]*Officer
	// fastTracks are the planted officers who clear one consignee's
	// declarations much faster than their peers do (C08).
	fastTracks map[*Ent][]*fastTrack
	// usuals are the planted shields of consignees, who leave their post
	// during the period (C07).
	usuals map[*Ent]*usualPlan
	// pendingTruth is ground truth decided while the world was built.
	pendingTruth []TruthRow
}

// Interest is an officer's declared tie to an enterprise.
type Interest struct {
	Officer    *Officer
	Ent        *Ent
	Relation   string
	DeclaredOn schemas.Date
}

type staffKey struct {
	sub  *Dept
	post string
}

// The sections of a subordinate customs: function, name, posts (with weights
// for sharing out the officers).
var sectionPlan = []struct {
	function, name string
	posts          []string
	weights        []float64
}{
	{"clearance", "通关业务科", []string{"declaration_review", "release"}, []float64{0.25, 0.10}},
	{"tariff", "关税科", []string{"tariff_review", "refund", "guarantee"}, []float64{0.10, 0.03, 0.03}},
	{"inspection", "查验科", []string{"inspection"}, []float64{0.22}},
	{"processing_trade", "加工贸易监管科", []string{"processing_trade"}, []float64{0.07}},
	{"logistics", "物流监控科", []string{"logistics"}, []float64{0.07}},
	{"anti_smuggling", "缉私科", []string{"anti_smuggling"}, []float64{0.07}},
	{"audit", "稽查科", []string{"audit"}, []float64{0.06}},
}

// SensitivePosts are the enforcement posts subject to rotation (C06).
var SensitivePosts = []string{"declaration_review", "tariff_review", "inspection", "release", "processing_trade", "refund", "guarantee"}

var directPrefixes = []string{"22", "53", "51", "42", "23", "01", "02", "04", "57", "52", "31", "46", "72", "80", "85", "90"}

var directNames = map[string]string{"22": "上海", "53": "深圳", "51": "广州", "42": "青岛", "23": "南京", "01": "北京", "02": "天津", "04": "石家庄", "57": "厦门", "52": "黄埔", "31": "杭州", "46": "郑州", "72": "重庆", "80": "成都", "85": "昆明", "90": "乌鲁木齐"}

// rng is a random stream of its own for (stream, n), so generators and days
// do not disturb each other's draws.
func (w *World) rng(stream string, n int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", stream, n)
	return rand.New(rand.NewPCG(w.cfg.Seed, h.Sum64()))
}

func newWorld(cfg Config) *World {
	sc := Scales[cfg.Scale]
	w := &World{
		cfg: cfg, scale: sc, Cal: calendar.Default(),
		Start: cfg.Start.Time(), End: cfg.End().Time(),
		officer: map[string]*Officer{}, staff: map[staffKey][]*Officer{},
		consignees: map[*Dept][]*Ent{}, cumWeight: map[*Dept][]float64{},
		roster: map[string]map[schemas.Date]Shift{},
	}
	w.buildDepartments()
	w.buildOfficers()
	w.buildEnterprises()
	w.buildRoster()
	w.buildInterests()
	w.buildCollusions()
	w.buildFavourites()
	w.buildFastTracks()
	w.buildUsuals()
	return w
}

func (w *World) addDept(d *Dept) *Dept {
	w.Depts = append(w.Depts, d)
	return d
}

func (w *World) buildDepartments() {
	w.HQ = w.addDept(&Dept{ID: "GAC", Name: "海关总署", Level: "headquarters", Function: "general", CustomsCode: "0000"})
	for i := 0; i < w.scale.DirectCustoms; i++ {
		p := directPrefixes[i%len(directPrefixes)]
		code := p + "00"
		dc := w.addDept(&Dept{ID: "D" + code, Name: directNames[p] + "海关", Level: "direct_customs", Function: "general", CustomsCode: code, Parent: w.HQ})
		dc.Direct = dc
		w.Directs = append(w.Directs, dc)
		w.addDept(&Dept{ID: "D" + code + "-DC", Name: dc.Name + "督察内审处", Level: "section", Function: "supervision", CustomsCode: code, Parent: dc, Direct: dc})
		w.addDept(&Dept{ID: "D" + code + "-JJ", Name: dc.Name + "纪检监察室", Level: "section", Function: "supervision", CustomsCode: code, Parent: dc, Direct: dc})
		for j := 1; j <= w.scale.SubsPerDirect; j++ {
			sc := fmt.Sprintf("%s%02d", p, j)
			sub := w.addDept(&Dept{ID: "D" + sc, Name: fmt.Sprintf("%s第%d隶属海关", directNames[p], j), Level: "subordinate_customs", Function: "general", CustomsCode: sc, Parent: dc, Direct: dc, Index: len(w.Subs)})
			sub.Sub = sub
			w.Subs = append(w.Subs, sub)
			for k, s := range sectionPlan {
				w.addDept(&Dept{ID: fmt.Sprintf("D%s-S%02d", sc, k+1), Name: sub.Name + s.name, Level: "section", Function: s.function, CustomsCode: sc, Parent: sub, Sub: sub, Direct: dc})
			}
		}
	}
}

// DeptsUnder lists the sections of a subordinate customs, in plan order.
func (w *World) DeptsUnder(parent *Dept) []*Dept {
	var out []*Dept
	for _, d := range w.Depts {
		if d.Parent == parent {
			out = append(out, d)
		}
	}
	return out
}

func (w *World) newOfficer(rng *rand.Rand, dept *Dept, post string, leader bool) *Officer {
	o := &Officer{ID: fmt.Sprintf("%08d", 10000001+len(w.Officers)*7), Name: personName(rng), Leader: leader}
	since := w.cfg.Start.AddDays(-rng.IntN(4 * 365))
	o.Postings = []Posting{{From: since, Dept: dept, Post: post}}
	w.Officers = append(w.Officers, o)
	w.officer[o.ID] = o
	return o
}

func (w *World) buildOfficers() {
	rng := w.rng("officers", 0)
	for _, dc := range w.Directs {
		for i := 0; i < 3; i++ {
			w.newOfficer(rng, dc, "customs_head", true)
		}
		for _, s := range w.DeptsUnder(dc) {
			if s.Level == "section" {
				w.newOfficer(rng, s, "section_chief", true)
				for i := 0; i < 4; i++ {
					w.newOfficer(rng, s, "supervision", false)
				}
			}
		}
	}
	perSub := (w.scale.Officers - len(w.Officers)) / len(w.Subs)
	for _, sub := range w.Subs {
		w.newOfficer(rng, sub, "customs_head", true)
		w.newOfficer(rng, sub, "customs_head", true)
		sections := w.DeptsUnder(sub)
		rest := perSub - 2 - len(sections)
		for k, s := range sectionPlan {
			w.newOfficer(rng, sections[k], "section_chief", true)
			for pi, post := range s.posts {
				n := max(3, int(float64(rest)*s.weights[pi]+0.5))
				for i := 0; i < n; i++ {
					w.newOfficer(rng, sections[k], post, false)
				}
			}
		}
	}
	w.plantLongTenure(rng)
	w.planTransfers(rng)
	for _, o := range w.Officers {
		seen := map[staffKey]bool{}
		for _, p := range o.Postings {
			if p.Dept.Sub == nil {
				continue
			}
			k := staffKey{p.Dept.Sub, p.Post}
			if !seen[k] {
				seen[k] = true
				w.staff[k] = append(w.staff[k], o)
			}
		}
	}
}

// planTransfers moves about 1 % of the sub-customs officers a month to
// another subordinate customs or section (the rotation a district practises).
func (w *World) planTransfers(rng *rand.Rand) {
	if len(w.Subs) < 2 {
		return
	}
	months := max(1, w.cfg.Days/30)
	for _, o := range w.Officers {
		p := o.Postings[len(o.Postings)-1]
		if p.Dept.Sub == nil || o.Leader || rng.Float64() >= 0.01*float64(months) || w.overdueRotation(o) {
			continue
		}
		day := w.cfg.Start.AddDays(1 + rng.IntN(max(1, w.cfg.Days-1)))
		to := w.Subs[(p.Dept.Sub.Index+1+rng.IntN(len(w.Subs)-1))%len(w.Subs)]
		for _, s := range w.DeptsUnder(to) {
			if s.Function == p.Dept.Function {
				o.Postings = append(o.Postings, Posting{From: w.Cal.NextWorkday(day), Dept: s, Post: p.Post})
				break
			}
		}
	}
}

// plantLongTenure gives some officers in sensitive posts a posting older than
// the rotation limit (C06, 5 years): planted and background alike.
func (w *World) plantLongTenure(rng *rand.Rand) {
	asOf := w.cfg.LastDay()
	for _, o := range w.Officers {
		p := &o.Postings[0]
		if !slices.Contains(SensitivePosts, p.Post) {
			continue
		}
		src := w.deviation(rng, "C06")
		if src == "" {
			continue
		}
		years := 5 + rng.IntN(3)
		since := schemas.DateOf(asOf.Time().AddDate(-years, 0, -1-rng.IntN(300)))
		p.From = since
		colour := []string{"yellow", "orange", "red"}[years-5]
		w.pendingTruth = append(w.pendingTruth, TruthRow{
			RuleID: "C06", Source: src, ObjectType: "officers", ObjectKey: o.ID, OfficerID: o.ID,
			Date: addYears(since, 5), Colour: colour,
			Note: fmt.Sprintf("%s since %s", p.Post, since),
		})
	}
}

// overdueRotation reports whether o's first posting is older than any a
// normal officer has (4 years before the start): one plantLongTenure made.
// Such an officer stays put, so the overdue rotation is still visible at the
// end as its ground truth says.
func (w *World) overdueRotation(o *Officer) bool {
	return o.Postings[0].From < w.cfg.Start.AddDays(-4*365)
}

// addYears is d plus n years; the anniversary of 29 February in a common
// year is 28 February, as DuckDB's date arithmetic has it.
func addYears(d schemas.Date, n int) schemas.Date {
	y, m, day := d.Time().Date()
	t := time.Date(y+n, m, day, 0, 0, 0, 0, time.UTC)
	if t.Month() != m {
		t = time.Date(y+n, m+1, 0, 0, 0, 0, 0, time.UTC)
	}
	return schemas.DateOf(t)
}

// OfficerByID finds an officer.
func (w *World) OfficerByID(id string) *Officer { return w.officer[id] }

// Staff lists the officers holding post in sub on day d, in id order.
func (w *World) Staff(sub *Dept, post string, d schemas.Date) []*Officer {
	var out []*Officer
	for _, o := range w.staff[staffKey{sub, post}] {
		if p := o.At(d); p.Post == post && p.Dept.Sub == sub {
			out = append(out, o)
		}
	}
	return out
}

// OnDuty reports whether the officer's hours cover t: the roster row for
// t's day if there is one, else 08:30–17:30 on working days.
func (w *World) OnDuty(officerID string, t time.Time) bool {
	t = t.In(schemas.Shanghai)
	d := schemas.DateOf(t)
	if s, ok := w.roster[officerID][d]; ok && !s.Deleted {
		return !t.Before(s.Start) && t.Before(s.End)
	}
	if !w.Cal.IsWorkday(d) {
		return false
	}
	return !t.Before(workStart(d)) && t.Before(workEnd(d))
}

// OnDutyStaff lists the officers holding post in sub who are on duty at t.
func (w *World) OnDutyStaff(sub *Dept, post string, t time.Time) []*Officer {
	var out []*Officer
	for _, o := range w.Staff(sub, post, schemas.DateOf(t.In(schemas.Shanghai))) {
		if w.OnDuty(o.ID, t) {
			out = append(out, o)
		}
	}
	return out
}

// SectionChief is the chief of the section an officer belongs to on day d.
func (w *World) SectionChief(dept *Dept, d schemas.Date) *Officer {
	for _, o := range w.Officers {
		if p := o.At(d); p.Dept == dept && p.Post == "section_chief" {
			return o
		}
	}
	return nil
}

func workStart(d schemas.Date) time.Time { return d.Time().Add(8*time.Hour + 30*time.Minute) }
func workEnd(d schemas.Date) time.Time   { return d.Time().Add(17*time.Hour + 30*time.Minute) }

// WorkMoment is a random second within standard hours on day d.
func (w *World) WorkMoment(rng *rand.Rand, d schemas.Date) time.Time {
	return workStart(d).Add(time.Duration(rng.IntN(9*3600)) * time.Second)
}

// AddWorkHours moves t forward by h standard working hours (08:30–17:30 on
// working days); time outside them does not count.
func (w *World) AddWorkHours(t time.Time, h time.Duration) time.Time {
	t = t.In(schemas.Shanghai)
	for {
		d := schemas.DateOf(t)
		if w.Cal.IsWorkday(d) {
			if t.Before(workStart(d)) {
				t = workStart(d)
			}
			if left := workEnd(d).Sub(t); left > 0 {
				if h <= left {
					return t.Add(h)
				}
				h -= left
			}
		}
		t = d.AddDays(1).Time()
	}
}

// WorkHoursBetween counts the standard working hours in [a, b).
func (w *World) WorkHoursBetween(a, b time.Time) time.Duration {
	var total time.Duration
	a, b = a.In(schemas.Shanghai), b.In(schemas.Shanghai)
	for d := schemas.DateOf(a); d <= schemas.DateOf(b); d++ {
		if !w.Cal.IsWorkday(d) {
			continue
		}
		lo, hi := workStart(d), workEnd(d)
		if a.After(lo) {
			lo = a
		}
		if b.Before(hi) {
			hi = b
		}
		if hi.After(lo) {
			total += hi.Sub(lo)
		}
	}
	return total
}

func (w *World) buildEnterprises() {
	rng := w.rng("enterprises", 0)
	nBroker := max(4*len(w.Subs), w.scale.Enterprises*5/100)
	for i := 0; i < w.scale.Enterprises; i++ {
		sub := w.Subs[i%len(w.Subs)]
		kind := "consignee"
		switch {
		case i < nBroker:
			kind = "broker"
		case i < nBroker+w.scale.Enterprises*3/100:
			kind = "both"
		}
		credit := "general"
		switch u := rng.Float64(); {
		case u < 0.06:
			credit = "advanced_certified"
		case u < 0.08:
			credit = "dishonest"
		}
		code := fmt.Sprintf("%s%d%05X", sub.CustomsCode, 1+i%9, i)
		e := &Ent{Code: code, USCC: newUSCC(rng), Name: companyName(rng, sub), Kind: kind, Credit: credit, Sub: sub}
		w.Ents = append(w.Ents, e)
		if kind != "consignee" {
			w.Brokers = append(w.Brokers, e)
		}
	}
	brokersOf := map[*Dept][]*Ent{}
	for _, b := range w.Brokers {
		brokersOf[b.Sub] = append(brokersOf[b.Sub], b)
	}
	for _, e := range w.Ents {
		if e.Kind == "broker" {
			continue
		}
		// Trade volume is heavy-tailed: a few large importers, many small ones.
		e.weight = 1 / (0.5 + rng.ExpFloat64())
		e.weight *= e.weight
		local := brokersOf[e.Sub]
		for k := 0; k < 1+rng.IntN(2); k++ {
			e.Brokers = append(e.Brokers, local[rng.IntN(len(local))])
		}
		w.consignees[e.Sub] = append(w.consignees[e.Sub], e)
	}
	for sub, list := range w.consignees {
		cum := make([]float64, len(list))
		total := 0.0
		for i, e := range list {
			total += e.weight
			cum[i] = total
		}
		w.cumWeight[sub] = cum
	}
}

// PickConsignee draws a consignee registered with sub, weighted by trade volume.
func (w *World) PickConsignee(rng *rand.Rand, sub *Dept) *Ent {
	cum := w.cumWeight[sub]
	i := sort.SearchFloat64s(cum, rng.Float64()*cum[len(cum)-1])
	return w.consignees[sub][min(i, len(cum)-1)]
}

// PickBroker draws one of the consignee's usual brokers (or the consignee
// itself when it declares for itself).
func (w *World) PickBroker(rng *rand.Rand, consignee *Ent) *Ent {
	if consignee.Kind == "both" && rng.IntN(2) == 0 {
		return consignee
	}
	return consignee.Brokers[rng.IntN(len(consignee.Brokers))]
}

// buildRoster puts officers of the round-the-clock posts on duty rotas:
// two per post and subordinate customs on each day off, and late shifts on
// some working days.
func (w *World) buildRoster() {
	rng := w.rng("roster", 0)
	for _, sub := range w.Subs {
		for _, post := range []string{"declaration_review", "inspection", "release"} {
			for d := w.cfg.Start; d < w.cfg.End(); d++ {
				staff := w.Staff(sub, post, d)
				if len(staff) == 0 {
					continue
				}
				if !w.Cal.IsWorkday(d) {
					for k := 0; k < min(2, len(staff)); k++ {
						w.setShift(rng, staff[(int(d)*2+k)%len(staff)].ID, d, workStart(d), workEnd(d))
					}
					continue
				}
				if rng.IntN(3) == 0 {
					o := staff[rng.IntN(len(staff))]
					w.setShift(rng, o.ID, d, d.Time().Add(13*time.Hour), d.Time().Add(22*time.Hour))
				}
			}
		}
	}
}

// buildInterests has about one officer in twenty declare a relative working
// for an enterprise of their own customs (领导干部报告个人有关事项).
func (w *World) buildInterests() {
	rng := w.rng("interests", 0)
	relations := []string{"spouse", "child", "parent", "sibling", "other"}
	for _, o := range w.Officers {
		p := o.Postings[0]
		if p.Dept.Sub == nil || rng.IntN(20) != 0 {
			continue
		}
		ents := w.consignees[p.Dept.Sub]
		if rng.IntN(2) == 0 {
			ents = w.Brokers
		}
		w.Interests = append(w.Interests, Interest{
			Officer: o, Ent: ents[rng.IntN(len(ents))], Relation: relations[rng.IntN(len(relations))],
			DeclaredOn: w.cfg.Start.AddDays(-30 - rng.IntN(700)),
		})
	}
}

// setShift rosters a shift; about one in 33 is later withdrawn.
func (w *World) setShift(rng *rand.Rand, officerID string, d schemas.Date, start, end time.Time) {
	if w.roster[officerID] == nil {
		w.roster[officerID] = map[schemas.Date]Shift{}
	}
	w.roster[officerID][d] = Shift{Start: start, End: end, Deleted: rng.IntN(33) == 0}
}
