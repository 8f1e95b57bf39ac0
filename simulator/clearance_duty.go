package simulator

import (
	"fmt"
	"slices"
	"time"

	"github.com/hlwarn/hlwarn/schemas"
)

// dutyKey is a post of a subordinate customs in one half hour. Every shift
// of the roster begins and ends on a half hour, so who is on duty does not
// change within one.
type dutyKey struct {
	sub  *Dept
	post string
	slot int64
}

// rota caches who is on duty in each half hour, for one worker: asking the
// World for every step would scan the post's staff each time.
type rota struct {
	w  *World
	on map[dutyKey][]*Officer
}

func (r *rota) onDuty(sub *Dept, post string, t time.Time) []*Officer {
	k := dutyKey{sub, post, t.Unix() / 1800}
	list, ok := r.on[k]
	if !ok {
		list = r.w.OnDutyStaff(sub, post, time.Unix(k.slot*1800, 0))
		r.on[k] = list
	}
	return list
}

// pick draws at random an officer of post in the declaration's sub who is
// on duty at t, not excluded, and not tied to its consignee or broker
// (officers recuse themselves); nil if there is none.
func (g *dayGen) pick(p *declPlan, post string, t time.Time, exclude ...*Officer) *Officer {
	list := g.rota.onDuty(p.sub, post, t)
	if len(list) == 0 {
		return nil
	}
	ok := func(o *Officer) bool {
		return !slices.Contains(exclude, o) && !p.tied(o) && g.w.OnDuty(o.ID, t)
	}
	// A planted collusion (C01, C02) tilts the draw towards its officer.
	if c := g.w.colluder(p, post); c != nil && ok(c.officer) && slices.Contains(list, c.officer) && g.rng.Float64() < c.bias {
		return c.officer
	}
	// A planted shield (C07) takes somewhat more than an even share of the
	// consignee's releases while in the post.
	if u := g.w.usualOf(p); u != nil && post == colludedPost && ok(u.officer) && slices.Contains(list, u.officer) && g.rng.Float64() < u.bias {
		return u.officer
	}
	// Rejection sampling keeps the draw uniform over the eligible officers.
	for range 4 {
		if o := list[g.rng.IntN(len(list))]; ok(o) {
			return o
		}
	}
	var cands []*Officer
	for _, o := range list {
		if ok(o) {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[g.rng.IntN(len(cands))]
}

// handle schedules a step of post that can be taken from after and needs
// about wh of work: at after+wh if someone eligible is on duty then
// (rostered on a day off, or on a late shift), else as handleWork does.
func (g *dayGen) handle(p *declPlan, post string, after time.Time, wh time.Duration, exclude ...*Officer) (time.Time, *Officer) {
	wh = wh.Truncate(time.Second)
	if t := after.Add(wh); !g.w.Cal.IsWorkday(schemas.DateOf(t)) || t.Hour() >= 17 {
		if o := g.pick(p, post, t, exclude...); o != nil {
			return t, o
		}
	}
	return g.handleWork(p, post, after, wh, exclude...)
}

// handleWork schedules the step after wh standard working hours, moving on
// by half an hour of working time until someone eligible is on duty. The
// working hours it takes are wh plus the half hours moved on, which callers
// keep under their limits.
func (g *dayGen) handleWork(p *declPlan, post string, after time.Time, wh time.Duration, exclude ...*Officer) (time.Time, *Officer) {
	t := g.w.AddWorkHours(after, wh.Truncate(time.Second))
	for range 2000 {
		if o := g.pick(p, post, t, exclude...); o != nil {
			return t, o
		}
		t = g.w.AddWorkHours(t, 30*time.Minute)
	}
	panic(fmt.Sprintf("simulator: nobody in post %s of %s is ever on duty", post, p.sub.ID))
}

// whenOnDuty is the first moment from after, before limit, at which o is on
// duty; zero if there is none.
func (g *dayGen) whenOnDuty(o *Officer, after, limit time.Time) time.Time {
	for t := after; t.Before(limit); {
		if g.w.OnDuty(o.ID, t) {
			return t
		}
		t = time.Unix((t.Unix()/1800+1)*1800, 0).In(schemas.Shanghai).Add(time.Duration(1+g.rng.IntN(20)) * time.Minute)
	}
	return time.Time{}
}

// team draws n inspection officers on duty both at s and at f, none tied
// to the declaration's enterprises; nil if there are not enough.
func (g *dayGen) team(p *declPlan, s, f time.Time, n int) []*Officer {
	var cands []*Officer
	for _, o := range g.rota.onDuty(p.sub, "inspection", s) {
		if !p.tied(o) && g.w.OnDuty(o.ID, s) && g.w.OnDuty(o.ID, f) {
			cands = append(cands, o)
		}
	}
	if len(cands) < n {
		return nil
	}
	for i := 0; i < n; i++ {
		j := i + g.rng.IntN(len(cands)-i)
		cands[i], cands[j] = cands[j], cands[i]
	}
	return cands[:n]
}

// tiedOnDuty lists the officers tied to the declaration's enterprises who
// hold post in its sub and are on duty at every one of times.
func (g *dayGen) tiedOnDuty(p *declPlan, post string, times ...time.Time) []*Officer {
	var out []*Officer
	for _, c := range p.ties {
		ps := c.At(schemas.DateOf(times[0]))
		if slices.Contains(out, c) || ps.Post != post || ps.Dept.Sub != p.sub {
			continue
		}
		on := true
		for _, t := range times {
			on = on && g.w.OnDuty(c.ID, t)
		}
		if on {
			out = append(out, c)
		}
	}
	return out
}

// tie is the C05 anomaly at a handling step (review, inspection, release):
// an officer tied to the declaration's consignee or its declarant (the
// broker: an enterprise of the declaration either way), on duty in the post,
// handles it instead of recusing. It returns o when nobody tied could.
func (g *dayGen) tie(p *declPlan, post string, t time.Time, o *Officer, exclude ...*Officer) *Officer {
	if len(p.ties) == 0 || !t.Before(g.w.End) {
		return o
	}
	var tied []*Officer
	for _, c := range g.tiedOnDuty(p, post, t) {
		if !slices.Contains(exclude, c) {
			tied = append(tied, c)
		}
	}
	if len(tied) == 0 {
		return o
	}
	src := g.deviate("C05")
	if src == "" {
		return o
	}
	c := tied[g.rng.IntN(len(tied))]
	g.hit(p, c, t, src)
	return c
}

// hit records a handling by a tied officer for C05's ground truth.
func (g *dayGen) hit(p *declPlan, o *Officer, t time.Time, src string) {
	g.res.hits = append(g.res.hits, c05Hit{officer: o, ent: p.tiedEnt(g.w, o), at: t, source: src, declNo: p.rec.DeclNo})
}
