package sessiongate_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	modulePath       = "github.com/sessiongate/sessiongate"
	architecturePage = "docs/ARCHITECTURE.md"
)

// architectureRows returns the rows of the table in docs/ARCHITECTURE.md
// whose header starts with firstColumn, as cells without their backquotes.
func architectureRows(t *testing.T, firstColumn string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(architecturePage)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	in := false
	for line := range strings.SplitSeq(string(raw), "\n") {
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i, c := range cells {
			cells[i] = strings.TrimSpace(c)
		}
		switch {
		case cells[0] == firstColumn:
			in = true
		case in && !strings.HasPrefix(cells[0], "---"):
			rows = append(rows, cells)
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no table headed %q", architecturePage, firstColumn)
	}
	return rows
}

// backquoted returns the `names` in a cell.
func backquoted(cell string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// ourImports lists the module's packages that dir's non-test files import,
// relative to the module ("" for the root), and whether any imports Caddy.
func ourImports(t *testing.T, dir string) (ours []string, caddy bool) {
	t.Helper()
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	for _, imp := range pkg.Imports {
		if rel, ok := strings.CutPrefix(imp, modulePath+"/"); ok {
			ours = append(ours, rel)
		}
		if strings.HasPrefix(imp, "github.com/caddyserver/") {
			caddy = true
		}
	}
	return ours, caddy
}

// TestArchitectureImports checks the package table of docs/ARCHITECTURE.md
// against the code: every package of the module is in it, imports only
// what its row allows, and the packages below the glue never reach Caddy.
func TestArchitectureImports(t *testing.T) {
	allowed := map[string][]string{}
	for _, row := range architectureRows(t, "package") {
		may := backquoted(row[2])
		for _, name := range backquoted(row[0]) {
			if name == "sessiongate" {
				name = "."
			}
			allowed[name] = may
		}
	}
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			if dir := filepath.Dir(path); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string][]string{}
	importsCaddy := map[string]bool{}
	for _, dir := range dirs {
		if strings.HasPrefix(dir, "internal/bench/cmd") {
			continue // the bench's command line, part of internal/bench
		}
		may, listed := allowed[dir]
		if !listed {
			t.Errorf("package %s is not in the table of %s", dir, architecturePage)
			continue
		}
		ours, caddy := ourImports(t, dir)
		imports[dir], importsCaddy[dir] = ours, caddy
		for _, imp := range ours {
			if !slices.Contains(may, imp) {
				t.Errorf("%s imports %s, which its row in %s does not allow", dir, imp, architecturePage)
			}
		}
	}
	// below the glue nothing reaches Caddy, directly or through another package of ours
	var reaches func(dir string, seen map[string]bool) bool
	reaches = func(dir string, seen map[string]bool) bool {
		if seen[dir] {
			return false
		}
		seen[dir] = true
		if importsCaddy[dir] {
			return true
		}
		for _, imp := range imports[dir] {
			if reaches(imp, seen) {
				return true
			}
		}
		return false
	}
	for _, dir := range []string{"gateway", "session", "auth", "inject", "config", "internal/background"} {
		if reaches(dir, map[string]bool{}) {
			t.Errorf("%s reaches Caddy; it must be testable with net/http/httptest alone", dir)
		}
	}
	for dir, ours := range imports {
		if slices.Contains(ours, "caddymodule") && dir != "." && dir != "cmd/sessiongate" && dir != "internal/bench" {
			t.Errorf("%s imports caddymodule: only the command line, the root package and the bench may", dir)
		}
	}
}

// TestArchitectureEndpoints checks the endpoint table of docs/ARCHITECTURE.md
// against gateway/endpoints.go: every endpoint it routes is in the table,
// with the file that holds its handler, and the table names no other.
func TestArchitectureEndpoints(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "gateway", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	methodFile := map[string]string{} // Gateway method → file
	routes := map[string]string{}     // endpoint name → handler method
	for _, pkg := range pkgs {
		for path, file := range pkg.Files {
			for _, decl := range file.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Recv == nil {
					continue
				}
				methodFile[fn.Name.Name] = filepath.Base(path)
				if fn.Name.Name != "endpointHandler" {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					cc, ok := n.(*ast.CaseClause)
					if !ok || len(cc.List) != 1 || len(cc.Body) != 1 {
						return true
					}
					lit, _ := cc.List[0].(*ast.BasicLit)
					ret, _ := cc.Body[0].(*ast.ReturnStmt)
					if lit == nil || ret == nil || len(ret.Results) != 1 {
						return true
					}
					result := ret.Results[0]
					if call, ok := result.(*ast.CallExpr); ok { // a handler made for the route (g.resendHandler(next))
						result = call.Fun
					}
					if sel, ok := result.(*ast.SelectorExpr); ok {
						routes[strings.Trim(lit.Value, `"`)] = sel.Sel.Name
					}
					return true
				})
			}
		}
	}
	if len(routes) < 10 {
		t.Fatalf("found %d routes in gateway/endpoints.go; the parser no longer understands endpointHandler", len(routes))
	}
	documented := map[string]string{}
	for _, row := range architectureRows(t, "endpoint") {
		names, files := backquoted(row[0]), backquoted(row[1])
		if len(names) != 1 || len(files) != 1 {
			t.Errorf("endpoint row %q: want one `endpoint` and one `file`", row)
			continue
		}
		documented[names[0]] = files[0]
	}
	for name, method := range routes {
		file, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("endpoint %s (%s) is not in %s", name, method, architecturePage)
		case file != methodFile[method]:
			t.Errorf("endpoint %s: %s says %s, its handler %s is in %s", name, architecturePage, file, method, methodFile[method])
		}
	}
	for name := range documented {
		if _, ok := routes[name]; !ok {
			t.Errorf("%s lists endpoint %s, which gateway/endpoints.go does not route", architecturePage, name)
		}
	}
}
