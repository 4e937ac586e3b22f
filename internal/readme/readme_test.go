package readme

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestQuickStartReadsOnlyShellBlocksOfTheSection(t *testing.T) {
	md := "# x\n\n```sh\nbefore\n```\n\n## Quick start\n\n```sh\n# a comment\ngo run ./cmd/x demo   # runs it\nmake test\n```\n\n```caddyfile\nnot a command\n```\n\n" +
		"### Build\n\n```sh\necho '# kept' # dropped\n```\n\n## Later\n\n```sh\nafter\n```\n"
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := QuickStart(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"go run ./cmd/x demo", "make test", "echo '# kept'"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := Find(path, "make"); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(path, "absent"); err == nil {
		t.Fatal("Find accepted a missing command")
	}
	if err := os.WriteFile(path, []byte("## Quick start\n\ntext only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := QuickStart(path); err == nil {
		t.Fatal("a Quick start without commands was accepted")
	}
}
