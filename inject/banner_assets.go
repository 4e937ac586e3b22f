package inject

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"strings"
)

var (
	//go:embed assets/banner.js
	bannerJSSource string
	//go:embed assets/banner.css
	bannerCSSSource string
)

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
	js := strings.Replace(bannerJSSource, `"__SESSIONGATE_CSS__"`, string(css), 1)
	sum := sha256.Sum256([]byte(js))
	return Banner{JS: []byte(js), Version: hex.EncodeToString(sum[:6])}
}
