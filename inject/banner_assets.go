package inject

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"strings"
)

var (
	// bannerJSParts is the banner script in parts, one concern a file, in
	// the order of their names: together one function (the first part
	// opens it, the last closes it), cut into files to keep each readable.
	//go:embed assets/banner/*.js
	bannerJSParts embed.FS
	//go:embed assets/banner.css
	bannerCSSSource string
)

// bannerJSSource joins the script's parts.
func bannerJSSource() string {
	var b strings.Builder
	names, _ := fs.Glob(bannerJSParts, "assets/banner/*.js") // sorted; the pattern is valid
	for _, name := range names {
		part, _ := bannerJSParts.ReadFile(name) // embedded: cannot fail
		b.Write(part)
	}
	return b.String()
}

// Banner is the browser script, with its stylesheet built in (it is applied
// as a constructed stylesheet inside the banner's shadow root, so a page's
// style-src policy does not have to allow it), and its content hash.
type Banner struct {
	// JS is the script served at {prefix}/banner.js.
	JS []byte
	// Version is a short content hash, used as ?v= for long caching.
	Version string
}

// NewBanner assembles the banner script.
func NewBanner() Banner {
	css, _ := json.Marshal(bannerCSSSource) // a JS string literal
	js := strings.Replace(bannerJSSource(), `"__SESSIONGATE_CSS__"`, string(css), 1)
	sum := sha256.Sum256([]byte(js))
	return Banner{JS: []byte(js), Version: hex.EncodeToString(sum[:6])}
}
