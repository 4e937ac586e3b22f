package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/sessiongate/sessiongate/internal/demo"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "demo",
		Usage: "[--listen 127.0.0.1:8080] [--redis URL] [--idle 2m] [--warn 60s] [--absolute 10m]",
		Short: "Runs the gateway with a development sign-in and a sample app (development only)",
		Long: `Starts, on loopback, the session gateway (memory store unless --redis),
a development OpenID provider with demo users, and a sample "legacy EHR".
Never use it in production: the provider accepts fixed demo passwords.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("listen", "127.0.0.1:8080", "gateway address")
			cmd.Flags().String("idp-listen", "127.0.0.1:9090", "development provider address")
			cmd.Flags().String("app-listen", "127.0.0.1:8081", "sample app address")
			cmd.Flags().String("redis", "", "Redis URL (default: memory store)")
			cmd.Flags().Duration("idle", 2*time.Minute, "idle timeout")
			cmd.Flags().Duration("warn", 60*time.Second, "idle warning lead")
			cmd.Flags().Duration("absolute", 10*time.Minute, "absolute timeout")
			cmd.Flags().Bool("allow-remote", false, "allow non-loopback listen addresses")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(runDemo)
		},
	})
}

func runDemo(fl caddycmd.Flags) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := demo.Run(ctx, demo.Options{
		Listen: fl.String("listen"), IdPListen: fl.String("idp-listen"), AppListen: fl.String("app-listen"),
		Redis: fl.String("redis"), Idle: fl.Duration("idle"), Warn: fl.Duration("warn"),
		Absolute: fl.Duration("absolute"), AllowRemote: fl.Bool("allow-remote"), Out: os.Stdout,
	})
	if err != nil {
		return exitFailedStartup, err
	}
	return 0, nil
}

// exitFailedStartup is Caddy's exit code for a failed start.
const exitFailedStartup = 1
