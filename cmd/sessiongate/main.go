// Command sessiongate is Caddy's command line with the standard modules plus
// the session_gate module compiled in: run, reload, adapt, validate and
// list-modules work as in Caddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/sessiongate/sessiongate/caddymodule"
)

func main() {
	caddycmd.Main()
}
