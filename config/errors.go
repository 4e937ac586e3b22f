package config

import "fmt"

// OptionError is a configuration error of one option. Option is the
// option's Caddyfile name (also its JSON field name), so that the Caddyfile
// adapter can point at the option's line and a JSON config's error names
// the field to fix.
type OptionError struct {
	// Option is the option's name, e.g. "warn_before".
	Option string
	// Err says what is wrong with it.
	Err error
}

// Error reads "option: what is wrong".
func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }

// Unwrap returns what is wrong.
func (e *OptionError) Unwrap() error { return e.Err }

// optionErrorf returns an *OptionError for option with a formatted message
// (%w wraps as in fmt.Errorf).
func optionErrorf(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
}
