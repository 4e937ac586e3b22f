package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildBinary builds the sessiongate command once for this test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sessiongate-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "sessiongate")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", builtBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// run runs the binary and returns its output. Output goes through a file,
// not a pipe: `start` leaves a server running that inherits it.
func run(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

// TestBinaryCommands checks the binary is Caddy's CLI with session_gate and
// that the repository's production Caddyfile adapts and validates.
func TestBinaryCommands(t *testing.T) {
	bin := buildBinary(t)
	out, err := run(t, bin, nil, "list-modules")
	if err != nil || !strings.Contains(out, "http.handlers.session_gate") || !strings.Contains(out, "http.handlers.reverse_proxy") {
		t.Fatalf("list-modules: %v\n%s", err, out)
	}
	env := []string{"SESSIONGATE_CLIENT_SECRET=s3cret", "SESSIONGATE_COOKIE_SECRET=" + strings.Repeat("k", 48)}
	root := filepath.Join("..", "..", "Caddyfile")
	out, err = run(t, bin, env, "adapt", "--config", root)
	if err != nil || !strings.Contains(out, `"handler":"session_gate"`) {
		t.Fatalf("adapt: %v\n%s", err, out)
	}
	if i, j := strings.Index(out, `"handler":"session_gate"`), strings.Index(out, `"handler":"reverse_proxy"`); i < 0 || j < i {
		t.Fatalf("session_gate must come before reverse_proxy:\n%s", out)
	}
	out, err = run(t, bin, env, "validate", "--config", root)
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	// a literal short secret fails validation, naming the option and the line
	bad := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(bad, []byte(":8080 {\n\tsession_gate {\n\t\tissuer https://idp.example.org\n\t\tclient_id x\n\t\tcookie_secret short\n\t}\n\treverse_proxy 127.0.0.1:9\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, bin, nil, "validate", "--config", bad)
	if err == nil || !strings.Contains(out, "cookie_secret") || !strings.Contains(out, "Caddyfile:") {
		t.Fatalf("invalid config: err=%v\n%s", err, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBinaryStartReloadStop runs the server, reloads it with a changed
// policy through the admin API, and stops it.
func TestBinaryStartReloadStop(t *testing.T) {
	bin := buildBinary(t)
	admin, site := freeAddr(t), freeAddr(t)
	conf := func(idle string) string {
		return "{\n\tadmin " + admin + "\n\tpersist_config off\n}\nhttp://" + site + " {\n\tsession_gate {\n\t\tissuer http://127.0.0.1:9/idp\n\t\tclient_id x\n\t\tcookie_secret " +
			strings.Repeat("k", 40) + "\n\t\tidle_timeout " + idle + "\n\t}\n\trespond \"app\"\n}\n"
	}
	dir := t.TempDir()
	cf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cf, []byte(conf("15m")), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	if out, err := run(t, bin, env, "start", "--config", cf); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = run(t, bin, env, "stop", "--address", admin) })
	// gated: a background request without a session is refused, the app is not reached
	resp, err := http.Get("http://" + site + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("want 401 from the gate, got %s", resp.Status)
	}
	if err := os.WriteFile(cf, []byte(conf("10m")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, bin, env, "reload", "--config", cf, "--address", admin); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	cfg, err := http.Get("http://" + admin + "/config/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(cfg.Body)
	cfg.Body.Close()
	if !strings.Contains(string(body), `"idle_timeout":"10m0s"`) {
		t.Fatalf("reloaded config not in force: %s", body)
	}
	if out, err := run(t, bin, env, "stop", "--address", admin); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
}

// TestDockerfile checks what can be checked without a Docker engine: a
// multi-stage build of this command into a runtime image that runs as a
// non-root user, with every COPY source present in the repository.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	built := false
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
		case "USER":
			users = append(users, f[1])
		case "RUN":
			if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/sessiongate") {
				built = true
			}
		case "COPY":
			if strings.HasPrefix(f[1], "--from") {
				continue
			}
			for _, src := range f[1 : len(f)-1] {
				if src == "." {
					continue
				}
				if _, err := os.Stat(filepath.Join("..", "..", src)); err != nil {
					t.Errorf("COPY source %s: %v", src, err)
				}
			}
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS ") {
		t.Errorf("want a multi-stage build, got %v", froms)
	}
	if !built {
		t.Error("no stage builds ./cmd/sessiongate")
	}
	if len(users) == 0 || users[len(users)-1] == "root" || users[len(users)-1] == "0" {
		t.Errorf("runtime user %v must not be root", users)
	}
}
