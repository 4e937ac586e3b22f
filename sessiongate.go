// Package sessiongate is the module's root package. Importing it registers
// the session_gate Caddy module, so that a custom Caddy build can name the
// module itself:
//
//	xcaddy build --with github.com/sessiongate/sessiongate
//
// The code lives in the caddymodule package (the Caddy glue) and the
// packages below it.
package sessiongate

import (
	// Registers http.handlers.session_gate and the session_gate directive.
	_ "github.com/sessiongate/sessiongate/caddymodule"
)
