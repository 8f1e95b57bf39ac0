package pipelines

import (
	"context"
	"errors"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/hlwarn/hlwarn/schemas"
)

// decoders is how many goroutines of one entity decode pages while the next
// page is fetched and the previous one written: decoding is the costly step.
const decoders = 2

// pageJob is one fetched page on its way through decoding to the writer.
type pageJob struct {
	n     int // 1-based page number in the run's window
	page  *Page
	err   error // the fetch failed; the job carries nothing else
	at    time.Time
	recs  []any // decoded versions, in page order
	quars []QuarantineRecord
	done  chan struct{} // closed once decoded
}

// pages walks the window from since: one goroutine fetches pages in order,
// decoders turn them into records, and this goroutine lands them in page
// order, checkpointing as it goes. An expired cursor restarts the window
// from the last version fetched: pages come ordered by (updated_at, key), so
// everything before it is in hand.
func (x *entityExtract) pages(ctx context.Context, since time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	work := make(chan *pageJob)
	ordered := make(chan *pageJob, decoders+1)
	wg.Go(func() { x.fetch(ctx, since, work, ordered) })
	for range decoders {
		wg.Go(func() {
			for j := range work {
				x.decode(j)
			}
		})
	}
	var last time.Time // updated_at of the latest version landed
	for j := range ordered {
		if j.err != nil {
			return j.err
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := x.land(j, &last); err != nil {
			return err
		}
		if x.sink.Rows() >= x.cfg.CheckpointRows && !last.IsZero() {
			// Versions at exactly `last` may continue on the next page, so
			// the watermark stops at it (inclusive next time): a few repeats,
			// never a gap.
			if err := x.commit(last); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// fetch requests the window's pages one after another and hands each to
// the decoders and, in order, to the writer. It closes both channels when
// the window is done, failed or cancelled.
func (x *entityExtract) fetch(ctx context.Context, since time.Time, work, ordered chan<- *pageJob) {
	defer close(ordered)
	defer close(work)
	cursor, n := "", 0
	restart := since // where the window restarts if the cursor expires
	for {
		p, err := x.client.Page(ctx, x.entity.Name, PageQuery{Since: since, Before: x.before, Cursor: cursor, Limit: x.cfg.PageLimit})
		if errors.Is(err, ErrCursorExpired) {
			x.run.update(func() { x.rec.Restarts++ })
			cursor, since = "", restart
			continue
		}
		if err != nil {
			select {
			case ordered <- &pageJob{err: err}:
			case <-ctx.Done():
			}
			return
		}
		n++
		j := &pageJob{n: n, page: p, at: x.cfg.Now(), done: make(chan struct{})}
		select {
		case ordered <- j:
		case <-ctx.Done():
			return
		}
		select {
		case work <- j:
		case <-ctx.Done():
			return
		}
		if t, ok := lastUpdatedAt(p.Items); ok {
			restart = t
		}
		if p.NextCursor == nil {
			return
		}
		cursor = *p.NextCursor
	}
}

// lastUpdatedAt reads the updated_at of a page's last readable item.
func lastUpdatedAt(items []gojson.RawMessage) (time.Time, bool) {
	for i := len(items) - 1; i >= 0; i-- {
		var v struct {
			UpdatedAt string `json:"updated_at"`
		}
		if gojson.Unmarshal(items[i], &v) == nil {
			if t, err := schemas.ParseTimestamp(v.UpdatedAt); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// decode checks every item of a page against the contract.
func (x *entityExtract) decode(j *pageJob) {
	defer close(j.done)
	j.recs = make([]any, 0, len(j.page.Items))
	for _, item := range j.page.Items {
		rec, err := x.entity.Decode(item)
		if err == nil {
			j.recs = append(j.recs, rec)
			continue
		}
		q := QuarantineRecord{RunID: x.run.RunID, Entity: x.entity.Name, Page: j.n, FetchedAt: j.at, Raw: string(item)}
		var re *schemas.RecordError
		if errors.As(err, &re) {
			q.Key, q.Reasons = re.Key, re.Reasons()
		} else {
			q.Reasons = []string{err.Error()}
		}
		j.quars = append(j.quars, q)
	}
}

// land writes a decoded page and counts it in the run.
func (x *entityExtract) land(j *pageJob, last *time.Time) error {
	for _, q := range j.quars {
		if err := x.sink.Quarantine(q); err != nil {
			return err
		}
	}
	for _, rec := range j.recs {
		if err := x.sink.Land(rec, j.at); err != nil {
			return err
		}
		if u := schemas.VersionOf(rec).UpdatedAt; u.After(*last) {
			*last = u
		}
	}
	x.run.update(func() {
		x.rec.Pages++
		x.rec.Fetched += int64(len(j.page.Items))
		x.rec.Landed += int64(len(j.recs))
		x.rec.Quarantined += int64(len(j.quars))
		x.rec.Bytes += int64(j.page.Bytes)
	})
	if x.bar != nil {
		x.bar.Add(len(j.page.Items))
	}
	return nil
}
