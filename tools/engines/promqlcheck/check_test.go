// Package promqlcheck runs one promqltest script (PROMQL_SCRIPT) on Prometheus's PromQL
// engine; tests/infra/test_alert_rules_promql.py writes the scripts from infra/alert_rules.py.
package promqlcheck

import (
	"os"
	"testing"

	"github.com/prometheus/prometheus/promql/promqltest"
)

func TestScript(t *testing.T) {
	script, err := os.ReadFile(os.Getenv("PROMQL_SCRIPT"))
	if err != nil {
		t.Fatal(err)
	}
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	promqltest.RunTest(t, string(script), engine)
}
