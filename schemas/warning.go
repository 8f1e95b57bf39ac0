package schemas

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// WarningID is a warning's stable identifier: a hash of the rule id, the
// rule version, the subject's keys and the period (a quarter such as 2026Q3
// for rules counted over one, "" for a rule about a single object). Reruns
// give the same id, so the integrity office's disposals can refer to it.
func WarningID(ruleID, ruleVersion, objectKey, period string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{ruleID, ruleVersion, objectKey, period}, "\x1f")))
	return "W" + strings.ToUpper(hex.EncodeToString(h[:10]))
}
