package auth

import "fmt"

// ClaimList reads a claim that lists values (groups, roles): a JSON array
// of strings, or a single string.
func ClaimList(v any) []string { return stringList(v) }

// stringList reads a claim that is a string array or a single string.
func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}

// ClaimString renders a claim for an upstream header: strings as they are,
// lists joined with commas, numbers and booleans in JSON form.
func ClaimString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return fmt.Sprint(x)
	}
	if l := stringList(v); l != nil {
		out := ""
		for i, s := range l {
			if i > 0 {
				out += ","
			}
			out += s
		}
		return out
	}
	return fmt.Sprint(v)
}
