package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hlwarn/hlwarn/schemas"
	"github.com/hlwarn/hlwarn/transforms"
)

// run executes the command line with a given environment.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	if err := root.Execute(); err != nil {
		errb.WriteString(err.Error())
		return 1, out.String(), errb.String()
	}
	return 0, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigLayers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := writeFile(t, dir, "hlwarn.yaml", "data: from-file\nlog:\n  level: debug\nsimulator:\n  days: 5\n  scale: district\nplatform:\n  timeout: 2m\n")
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		wants []string
	}{
		{"defaults", nil, nil, []string{"data: data", "days: 28", "scale: small", "timeout: 1m0s"}},
		{"file over defaults", nil, []string{"--config", cfgFile}, []string{"data: from-file", "days: 5", "scale: district", "timeout: 2m0s", "level: debug"}},
		{"flag over file", nil, []string{"--config", cfgFile, "--data", "from-flag", "--log-level", "warn"}, []string{"data: from-flag", "level: warn", "days: 5"}},
		{"env over flag", map[string]string{"HLWARN_DATA": "from-env", "HLWARN_SIM_DAYS": "11", "HLWARN_PLATFORM_TOKEN": "SECRET-ENV-TOKEN"},
			[]string{"--config", cfgFile, "--data", "from-flag"}, []string{"data: from-env", "days: 11"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.env, append(tc.args, "config")...)
			if code != 0 {
				t.Fatal(stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(stdout, w) {
					t.Errorf("effective config lacks %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, "SECRET") {
				t.Errorf("config printed the token")
			}
		})
	}
}

func TestConfigRejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := writeFile(t, dir, "bad.yaml", "data: x\nplatfrom:\n  url: http://x\n")
	code, _, stderr := run(t, nil, "--config", cfgFile, "status")
	if code == 0 || !strings.Contains(stderr, "platfrom") {
		t.Errorf("a misspelt key must fail naming it; got %d %q", code, stderr)
	}
	cfgFile = writeFile(t, dir, "dur.yaml", "platform:\n  timeout: soon\n")
	if code, _, stderr := run(t, nil, "--config", cfgFile, "status"); code == 0 || !strings.Contains(stderr, "duration") {
		t.Errorf("a bad duration must fail saying so; got %d %q", code, stderr)
	}
}

func TestExtractNeedsPlatform(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, stderr := run(t, nil, "extract", "--data", dir, "--platform-url", "http://127.0.0.1:1")
	if code == 0 || !strings.Contains(stderr, "HLWARN_PLATFORM_TOKEN") {
		t.Errorf("extract without a token: %d %q", code, stderr)
	}
	tok := writeFile(t, dir, "token", "SECRET-TOKEN-XYZ\n")
	code, _, stderr = run(t, nil, "extract", "--data", dir, "--platform-token-file", tok)
	if code == 0 || !strings.Contains(stderr, "platform URL") {
		t.Errorf("extract without a URL: %d %q", code, stderr)
	}
	if strings.Contains(stderr, "SECRET-TOKEN") {
		t.Errorf("the token leaked: %s", stderr)
	}
}

func TestDemoRefusesForeignFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "precious.parquet", "data")
	code, _, stderr := run(t, nil, "demo", "--data", dir, "--days", "2")
	if code == 0 || !strings.Contains(stderr, "not made by the demo") {
		t.Errorf("demo over a foreign folder: %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.parquet")); err != nil {
		t.Errorf("the demo touched a foreign folder: %v", err)
	}
}

func TestDemoEndToEnd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	for i := 0; i < 2; i++ { // the second run clears the first
		code, stdout, stderr := run(t, nil, "demo", "--data", dir, "--days", "3", "--log-level", "warn")
		if code != 0 {
			t.Fatalf("demo failed: %s", stderr)
		}
		for _, want := range []string{"declarations", "succeeded", "quarantined", "ground truth"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("demo output lacks %q:\n%s", want, stdout)
			}
		}
	}
	code, stdout, _ := run(t, nil, "status", "--data", dir)
	if code != 0 || strings.Count(stdout, "succeeded") != 1 || !strings.Contains(stdout, "watermarks") {
		t.Errorf("status after the demo:\n%s", stdout)
	}
	// The demo leaves its ground truth; evaluate scores the same build.
	code, stdout, stderr := run(t, nil, "evaluate", "--data", dir, "--truth", filepath.Join(dir, "truth.json"))
	if code != 0 || !strings.Contains(stdout, "precision") || !strings.Contains(stdout, "A07") {
		t.Errorf("evaluate after the demo (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, nil, "evaluate", "--data", dir, "--truth", filepath.Join(dir, "truth.json"), "--min-recall", "1.01")
	if code == 0 || !strings.Contains(stderr, "rules below precision") {
		t.Errorf("evaluate with an unreachable recall passed (exit %d): %s", code, stderr)
	}
}

// TestRulesCatalogue checks that hlwarn rules prints a rule with its
// parameters in force, marks an overridden one with its default, and
// refuses an unknown id.
func TestRulesCatalogue(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, map[string]string{}, "rules", "A07")
	if code != 0 {
		t.Fatalf("rules A07: %s", stderr)
	}
	for _, want := range []string{"A07", "退税", "Refund", "basis:", "关税法 51", "a07_limit_cd = 30 calendar days"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rules A07 lacks %q:\n%s", want, stdout)
		}
	}
	cfg := writeFile(t, t.TempDir(), "hlwarn.yaml", "parameters:\n  a07_limit_cd: 45\n")
	code, stdout, stderr = run(t, nil, "rules", "--config", cfg, "--format", "json", "a07")
	if code != 0 || !strings.Contains(stdout, `"value": 45`) || !strings.Contains(stdout, `"default": 30`) || !strings.Contains(stdout, `"name_zh"`) {
		t.Errorf("rules --format json with an override (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, nil, "rules", "Z99")
	if code == 0 || !strings.Contains(stderr, "no rule Z99") {
		t.Errorf("rules Z99 (exit %d): %s", code, stderr)
	}
}

// TestPrintTransform checks the per-model table of a run: a keyed model
// shows how many objects it re-evaluated, other models leave it blank.
func TestPrintTransform(t *testing.T) {
	var b strings.Builder
	printTransform(&b, &transforms.RunResult{AsOf: schemas.MustDate("2026-10-04"), Models: []transforms.ModelResult{
		{Model: "rule_a07_refund_undecided", Kind: transforms.KindKeyed, Status: transforms.StatusOK, Rows: 3, Evaluated: 41},
		{Model: "dim_date", Kind: transforms.KindTable, Status: transforms.StatusOK, Rows: 5844},
	}})
	lines := strings.Split(b.String(), "\n")
	if len(lines) < 4 || !strings.Contains(lines[1], "evaluated") {
		t.Fatalf("no evaluated column:\n%s", b.String())
	}
	if f := strings.Fields(lines[2]); len(f) != 8 || f[4] != "41" {
		t.Errorf("keyed row %q: want 41 objects evaluated in the fifth column", lines[2])
	}
	if f := strings.Fields(lines[3]); len(f) != 7 {
		t.Errorf("table row %q: want the evaluated column left blank", lines[3])
	}
}
