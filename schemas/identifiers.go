package schemas

import (
	"fmt"
	"strings"
	"time"
)

// Formats maps each identifier format name used in `hl:"fmt=..."` tags to its
// check. A check returns nil or says what is wrong with the value.
var Formats = map[string]func(string) error{
	"customs_code": checkDigits(4),
	"decl_no":      checkDeclNo,
	"ent_code":     checkCharset(10, 10, upperAlnum),
	"uscc":         CheckUSCC,
	"officer_id":   checkDigits(8),
	"hs_code":      checkDigits(10),
	"trade_mode":   checkDigits(4),
	"manual_no":    checkManualNo,
	"voucher_no":   checkCharset(18, 22, upperAlnum+"-"),
	"month":        checkMonth,
	"id":           checkID,
}

const (
	digits     = "0123456789"
	upperAlnum = digits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// usccCharset is GB 32100-2015's code charset: digits and capitals without I, O, S, V, Z.
	usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
)

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

func checkDigits(n int) func(string) error { return checkCharset(n, n, digits) }

func checkCharset(minLen, maxLen int, charset string) func(string) error {
	return func(s string) error {
		if len(s) < minLen || len(s) > maxLen {
			if minLen == maxLen {
				return fmt.Errorf("%q must be %d characters, has %d", s, minLen, len(s))
			}
			return fmt.Errorf("%q must be %d to %d characters, has %d", s, minLen, maxLen, len(s))
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune(charset, r) }); i >= 0 {
			return fmt.Errorf("%q has a character outside %s at position %d", s, describeCharset(charset), i+1)
		}
		return nil
	}
}

func describeCharset(c string) string {
	switch c {
	case digits:
		return "0-9"
	case upperAlnum:
		return "[0-9A-Z]"
	default:
		return "[0-9A-Z-]"
	}
}

func checkDeclNo(s string) error {
	if err := checkDigits(18)(s); err != nil {
		return err
	}
	if y := s[4:8]; y < "1980" || y > "2099" {
		return fmt.Errorf("%q has year %s at positions 5-8", s, y)
	}
	if s[8] != '0' && s[8] != '1' {
		return fmt.Errorf("%q has I/E digit %c at position 9, want 1 (import) or 0 (export)", s, s[8])
	}
	return nil
}

func checkManualNo(s string) error {
	if err := checkCharset(12, 12, upperAlnum)(s); err != nil {
		return err
	}
	if s[0] != 'B' && s[0] != 'C' {
		return fmt.Errorf("%q must start with B or C", s)
	}
	return nil
}

func checkMonth(s string) error {
	if _, err := time.Parse("2006-01", s); err != nil || len(s) != 7 {
		return fmt.Errorf("%q is not a YYYY-MM month", s)
	}
	return nil
}

func checkID(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("identifier is empty")
	}
	if len(s) > 64 {
		return fmt.Errorf("identifier %.20q... is longer than 64 characters", s)
	}
	return nil
}

// USCCCheckChar computes the 18th character of a unified social credit code
// from its first 17 (GB 32100-2015).
func USCCCheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("need 17 characters, have %d", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccCharset, first17[i])
		if v < 0 {
			return 0, fmt.Errorf("%q has %q at position %d, outside the GB 32100 charset", first17, first17[i], i+1)
		}
		sum += v * usccWeights[i]
	}
	return usccCharset[(31-sum%31)%31], nil
}

// CheckUSCC validates a unified social credit code, including its check character.
func CheckUSCC(s string) error {
	if len(s) != 18 {
		return fmt.Errorf("%q must be 18 characters, has %d", s, len(s))
	}
	want, err := USCCCheckChar(s[:17])
	if err != nil {
		return err
	}
	if strings.IndexByte(usccCharset, s[17]) < 0 {
		return fmt.Errorf("%q has %q at position 18, outside the GB 32100 charset", s, s[17])
	}
	if s[17] != want {
		return fmt.Errorf("%q has check character %c, GB 32100 gives %c", s, s[17], want)
	}
	return nil
}
