package inject

import (
	"strings"
	"testing"
)

// TestBannerScriptIsOneFunction: the parts join into one script that opens
// and closes its function once, with the stylesheet built in.
func TestBannerScriptIsOneFunction(t *testing.T) {
	js := string(NewBanner().JS)
	if !strings.HasPrefix(js, "// sessiongate banner") || !strings.Contains(js, "(function () {") ||
		!strings.HasSuffix(strings.TrimSpace(js), "})();") {
		t.Fatalf("the joined script does not open and close its function: %.80q … %.40q", js, js[len(js)-40:])
	}
	if strings.Count(js, "})();\n") != 1 || strings.Contains(js, "__SESSIONGATE_CSS__") {
		t.Fatal("the parts are joined more than once, or the stylesheet is missing")
	}
	for _, fn := range []string{"function renewInPlace(", "function rescueTyped(", "function report(", "function show("} {
		if !strings.Contains(js, fn) {
			t.Errorf("the joined script lacks %s", fn)
		}
	}
}
