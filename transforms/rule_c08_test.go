package transforms_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// TestC08PeerMediansByPosition checks C08's medians against their
// definition on random release times with many ties: C08 finds the peers'
// median by position in the enterprise's releases rather than over the
// peers' rows, and every tested pair must get the median of its peers'
// releases (the mean of the two middle ones for an even count), its own
// median and the count of its releases quicker than the peers' median.
// The thresholds are set so that every tested pair is reported.
func TestC08PeerMediansByPosition(t *testing.T) {
	t.Parallel()
	p := mustProject(t)
	asOf := schemas.MustDate("2026-10-12")
	rng := rand.New(rand.NewPCG(8, 2026))
	type pair struct{ ent, officer string }
	times := map[pair][]int64{}
	var b strings.Builder
	b.WriteString("day,officer_id,consignee_code,releases,seconds\n")
	for e := range 12 {
		ent := fmt.Sprintf("E%09d", e+1)
		officers := 2 + rng.IntN(6)
		for o := range officers {
			officer := fmt.Sprintf("1%07d", o+1)
			for range 1 + rng.IntN(4) {
				day := asOf.AddDays(-rng.IntN(90))
				var secs []string
				for range 1 + rng.IntN(12) {
					// Few distinct times, so that officers share times.
					s := int64(60 * (1 + rng.IntN(15)))
					times[pair{ent, officer}] = append(times[pair{ent, officer}], s)
					secs = append(secs, fmt.Sprint(s))
				}
				fmt.Fprintf(&b, "%s,%s,%s,%d,\"[%s]\"\n", day, officer, ent, len(secs), strings.Join(secs, ","))
			}
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "fact_release_daily.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const minReleases = 5
	tab, err := p.RunFixture(t.Context(), &transforms.Fixture{Dir: dir, Model: "rule_c08_fast_release",
		AsOf:   []schemas.Date{asOf},
		Inputs: map[string]string{"fact_release_daily": path},
		Params: map[string]any{"c08_min_releases": minReleases, "c08_yellow_ratio": 1e9, "c08_orange_ratio": 0, "c08_alpha": 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	// median (bench_test.go) of release times, exact in float64.
	seconds := func(xs []int64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = float64(x)
		}
		return out
	}
	type figures struct {
		Releases     int64   `json:"releases"`
		Median       float64 `json:"median_minutes"`
		PeerReleases int64   `json:"peer_releases"`
		PeerMedian   float64 `json:"peer_median_minutes"`
		Quicker      int64   `json:"quicker_than_peer_median"`
	}
	want := map[string]figures{}
	for pr, own := range times {
		var peers []int64
		for other, ts := range times {
			if other.ent == pr.ent && other.officer != pr.officer {
				peers = append(peers, ts...)
			}
		}
		if len(own) < minReleases || len(peers) < minReleases {
			continue
		}
		pm := median(seconds(peers))
		f := figures{Releases: int64(len(own)), Median: median(seconds(own)) / 60, PeerReleases: int64(len(peers)), PeerMedian: pm / 60}
		for _, s := range own {
			if float64(s) < pm {
				f.Quicker++
			}
		}
		want[pr.officer+"|"+pr.ent] = f
	}
	if len(want) < 20 {
		t.Fatalf("only %d tested pairs; the data should test more", len(want))
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(tab.Rows, "\n"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(tab.Columns, name) }
	got := map[string]figures{}
	for _, r := range rows {
		var f figures
		if err := json.Unmarshal([]byte(r[col("evidence")]), &f); err != nil {
			t.Fatalf("evidence %q: %v", r[col("evidence")], err)
		}
		got[r[col("object_key")]] = f
		var metric float64
		fmt.Sscan(r[col("metric")], &metric)
		if w, ok := want[r[col("object_key")]]; ok && math.Abs(metric-w.Median/w.PeerMedian) > 0.5e-4 {
			t.Errorf("%s: metric %v; want %.4f", r[col("object_key")], metric, w.Median/w.PeerMedian)
		}
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: not reported; want %+v", k, w)
		} else if g != w {
			t.Errorf("%s: %+v; want %+v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s reported; it has fewer than %d releases or peers' releases", k, minReleases)
		}
	}
}
