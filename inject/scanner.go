package inject

import "bytes"

// event is what scanner.scan stopped for.
type event uint8

const (
	// evNone: the whole input was consumed without an event.
	evNone event = iota
	// evHead: a <head …> start tag just ended; the insertion point is
	// scanner.off (right after its '>').
	evHead
	// evBodyEnd: a </body> end tag just ended; the insertion point is
	// scanner.tagStart (its '<').
	evBodyEnd
)

// state is a tokenizer state, named after the WHATWG HTML tokenizer states
// (https://html.spec.whatwg.org/multipage/parsing.html#tokenization) that it
// implements. Only the states that decide where tags start and end are
// modelled: character references, NUL handling and the like do not move tag
// boundaries and are ignored.
type state uint8

const (
	stData state = iota
	stTagOpen
	stEndTagOpen
	stTagName
	stBeforeAttrName
	stAttrName
	stAfterAttrName
	stBeforeAttrValue
	stAttrValueDQ
	stAttrValueSQ
	stAttrValueUnquoted
	stAfterAttrValueQuoted
	stSelfClosingStart
	stMarkupDecl // after "<!": deciding between comment, CDATA and bogus comment
	stComment
	stCommentBang // after "--!" inside a comment
	stBogusComment
	stCDATA
	stRawText // RCDATA and RAWTEXT (title, textarea, style, …)
	stRawLessThan
	stRawEndTag // matching the "name" of "</name" in raw text or script data
	stPlaintext
	stScriptData
	stScriptLessThan
	stScriptEscapeStart
	stScriptEscapeStartDash
	stScriptEscaped
	stScriptEscapedDash
	stScriptEscapedDashDash
	stScriptEscapedLessThan
	stScriptDoubleEscaped
	stScriptDoubleEscapedDash
	stScriptDoubleEscapedDashDash
	stScriptDoubleEscapedLessThan
)

// rawEndMode says what a completed "</name" match in stRawEndTag means.
type rawEndMode uint8

const (
	// rawEndTag: the raw text ends; the match is an end tag.
	rawEndTag rawEndMode = iota
	// rawEndToEscaped: "</script" ended a double-escaped section.
	rawEndToEscaped
	// rawEndToDoubleEscaped: "<script" started a double-escaped section.
	rawEndToDoubleEscaped
)

// maxName is how many bytes of a tag name are kept; every name the scanner
// cares about is shorter.
const maxName = 16

// scanner is an incremental, allocation-free HTML tokenizer that only tracks
// where tags begin and end. Its whole state lives in this struct, so input may
// be fed in pieces of any size, and memory use does not depend on the input:
// nothing is buffered.
//
// The tree-construction decisions that change tokenization are approximated
// as the x/net/html parser does: script, style, textarea, title, xmp, iframe,
// noembed, noframes, noscript and plaintext switch to raw text; inside svg or
// math (tracked by a nesting counter that HTML "breakout" tags reset), raw
// text is not used and CDATA sections are recognised. In XML mode
// (application/xhtml+xml) the document is treated as foreign content
// throughout.
type scanner struct {
	st  state
	off int64 // absolute offset of the next byte to be scanned

	// tag being read
	tagStart  int64 // absolute offset of its '<'
	isEnd     bool
	selfClose bool
	cand      bool // this tag may still turn out to be </body>
	name      [maxName]byte
	nameLen   int

	// raw text
	rawName  string // lower-case name of the element whose raw text we are in
	rawIdx   int
	rawMode  rawEndMode
	rawFail  state // state to reconsume in when "</name" does not match
	ltAt     int64 // offset of the '<' that started the "</name" match
	mdIdx    int   // bytes of "--" or "[CDATA[" matched after "<!"
	mdCDATA  bool
	dashes   int // comment: consecutive '-'
	begin    bool
	brackets int // CDATA: consecutive ']'

	depth int  // svg/math nesting
	xml   bool // XML mode: foreign content everywhere

	// capLen bounds the length of a </body> tag that is still reported: a
	// longer one is never a candidate, so a caller never has to hold back
	// more than capLen bytes for it.
	capLen int64

	// spec makes script-data-escaped-less-than-sign reconsume in the script
	// data escaped state as the WHATWG specification says; when false it
	// reconsumes in script data like golang.org/x/net/html does (used only by
	// the differential tests).
	spec bool

	// trace, when set (tests only), is told of every completed tag.
	trace func(isEnd bool, start, end int64, name string, nameLen int)
}

func newScanner(capLen int64, xml bool) scanner {
	return scanner{capLen: capLen, xml: xml, spec: true}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z'
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func (s *scanner) foreign() bool { return s.xml || s.depth > 0 }

// pending returns the offset of the '<' of a tag that is still being read and
// may turn out to be a reportable </body>, or -1. Bytes before it (and before
// s.off when it is -1) can no longer contain a </body> insertion point.
func (s *scanner) pending() int64 {
	switch s.st {
	case stTagOpen, stEndTagOpen:
	case stTagName, stBeforeAttrName, stAttrName, stAfterAttrName, stBeforeAttrValue,
		stAttrValueDQ, stAttrValueSQ, stAttrValueUnquoted, stAfterAttrValueQuoted, stSelfClosingStart:
		if !s.cand {
			return -1
		}
	default:
		return -1
	}
	if s.off-s.tagStart > s.capLen {
		return -1
	}
	return s.tagStart
}

// nameIs reports whether the current tag name is exactly n (lower case).
func (s *scanner) nameIs(n string) bool {
	return s.nameLen == len(n) && string(s.name[:s.nameLen]) == n
}

// endName finishes the tag name.
func (s *scanner) endName() {
	s.cand = s.cand && s.nameLen == 4
}

// scan consumes bytes of p until it has consumed them all (evNone) or a tag
// that may be an insertion point has just ended; it returns how many bytes it
// consumed. s.off is advanced accordingly.
func (s *scanner) scan(p []byte) (int, event) {
	base := s.off
	i, n := 0, len(p)
	for i < n {
		switch s.st {
		case stData:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				i = n
				continue
			}
			i += j
			s.tagStart = base + int64(i)
			i++
			s.st = stTagOpen

		case stTagOpen:
			c := p[i]
			switch {
			case isAlpha(c):
				s.isEnd, s.selfClose, s.cand = false, false, false
				s.name[0], s.nameLen = lower(c), 1
				s.st = stTagName
				i++
			case c == '/':
				s.st = stEndTagOpen
				i++
			case c == '!':
				s.st, s.mdIdx, s.mdCDATA = stMarkupDecl, 0, false
				i++
			case c == '?':
				s.st = stBogusComment
				i++
			default:
				s.st = stData // reconsume: the '<' was text
			}

		case stEndTagOpen:
			c := p[i]
			switch {
			case isAlpha(c):
				c = lower(c)
				s.isEnd, s.selfClose, s.cand = true, false, c == 'b'
				s.name[0], s.nameLen = c, 1
				s.st = stTagName
			case c == '>':
				s.st = stData // "</>" is nothing at all
			default:
				s.st = stBogusComment // c is not '>', so consuming it is fine
			}
			i++

		case stTagName:
			for i < n {
				c := p[i]
				if c > '>' || !(isSpace(c) || c == '/' || c == '>') {
					c = lower(c)
					if s.nameLen < maxName {
						s.name[s.nameLen] = c
					}
					if s.cand {
						s.cand = s.nameLen < 4 && "body"[s.nameLen] == c
					}
					s.nameLen++
					i++
					continue
				}
				s.endName()
				i++
				switch c {
				case '/':
					s.st = stSelfClosingStart
				case '>':
					if ev := s.emitTag(base + int64(i)); ev != evNone {
						s.off = base + int64(i)
						return i, ev
					}
				default:
					s.st = stBeforeAttrName
				}
				break
			}

		case stBeforeAttrName:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == '/':
				s.st = stSelfClosingStart
				i++
			case c == '>':
				i++
				if ev := s.emitTag(base + int64(i)); ev != evNone {
					s.off = base + int64(i)
					return i, ev
				}
			default:
				// '=' here starts an attribute named "=".
				s.st = stAttrName
				i++
			}

		case stAttrName:
			for i < n {
				c := p[i]
				if c > '>' {
					i++
					continue
				}
				switch {
				case isSpace(c):
					s.st = stAfterAttrName
				case c == '/':
					s.st = stSelfClosingStart
				case c == '=':
					s.st = stBeforeAttrValue
				case c == '>':
					i++
					if ev := s.emitTag(base + int64(i)); ev != evNone {
						s.off = base + int64(i)
						return i, ev
					}
					goto next
				default:
					i++
					continue
				}
				i++
				break
			}

		case stAfterAttrName:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == '/':
				s.st = stSelfClosingStart
				i++
			case c == '=':
				s.st = stBeforeAttrValue
				i++
			case c == '>':
				i++
				if ev := s.emitTag(base + int64(i)); ev != evNone {
					s.off = base + int64(i)
					return i, ev
				}
			default:
				s.st = stAttrName
				i++
			}

		case stBeforeAttrValue:
			c := p[i]
			switch {
			case isSpace(c):
				i++
			case c == '"':
				s.st = stAttrValueDQ
				i++
			case c == '\'':
				s.st = stAttrValueSQ
				i++
			case c == '>':
				i++
				if ev := s.emitTag(base + int64(i)); ev != evNone {
					s.off = base + int64(i)
					return i, ev
				}
			default:
				s.st = stAttrValueUnquoted
				i++
			}

		case stAttrValueDQ, stAttrValueSQ:
			q := byte('"')
			if s.st == stAttrValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(p[i:], q)
			if j < 0 {
				i = n
				continue
			}
			i += j + 1
			s.st = stAfterAttrValueQuoted

		case stAttrValueUnquoted:
			for i < n {
				c := p[i]
				if c > '>' || !(isSpace(c) || c == '>') {
					i++
					continue
				}
				i++
				if c == '>' {
					if ev := s.emitTag(base + int64(i)); ev != evNone {
						s.off = base + int64(i)
						return i, ev
					}
				} else {
					s.st = stBeforeAttrName
				}
				break
			}

		case stAfterAttrValueQuoted:
			c := p[i]
			switch {
			case isSpace(c):
				s.st = stBeforeAttrName
				i++
			case c == '/':
				s.st = stSelfClosingStart
				i++
			case c == '>':
				i++
				if ev := s.emitTag(base + int64(i)); ev != evNone {
					s.off = base + int64(i)
					return i, ev
				}
			default:
				s.st = stBeforeAttrName // reconsume
			}

		case stSelfClosingStart:
			if p[i] == '>' {
				i++
				s.selfClose = true
				if ev := s.emitTag(base + int64(i)); ev != evNone {
					s.off = base + int64(i)
					return i, ev
				}
			} else {
				s.st = stBeforeAttrName // reconsume
			}

		case stMarkupDecl:
			c := p[i]
			switch {
			case s.mdIdx == 0 && c == '-':
				s.mdIdx = 1
				i++
			case s.mdIdx == 0 && c == '[' && s.foreign():
				s.mdIdx, s.mdCDATA = 1, true
				i++
			case s.mdIdx == 1 && !s.mdCDATA && c == '-':
				s.st, s.dashes, s.begin = stComment, 0, true
				i++
			case s.mdCDATA && c == "[CDATA["[s.mdIdx]:
				s.mdIdx++
				i++
				if s.mdIdx == len("[CDATA[") {
					s.st, s.brackets = stCDATA, 0
				}
			default:
				// A doctype or a bogus comment: both end at the first '>',
				// which may be c itself.
				s.st = stBogusComment
			}

		case stComment:
			if s.dashes == 0 && !s.begin {
				j := bytes.IndexByte(p[i:], '-')
				if j < 0 {
					i = n
					continue
				}
				i += j
			}
			c := p[i]
			i++
			switch c {
			case '-':
				s.dashes++
				continue
			case '>':
				if s.dashes >= 2 || s.begin {
					s.st = stData
					continue
				}
			case '!':
				if s.dashes >= 2 {
					s.st = stCommentBang
					continue
				}
			}
			s.dashes, s.begin = 0, false

		case stCommentBang:
			c := p[i]
			i++
			switch c {
			case '>':
				s.st = stData
			case '-':
				s.st, s.dashes, s.begin = stComment, 1, false
			default:
				s.st, s.dashes, s.begin = stComment, 0, false
			}

		case stBogusComment:
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				i = n
				continue
			}
			i += j + 1
			s.st = stData

		case stCDATA:
			if s.brackets == 0 {
				j := bytes.IndexByte(p[i:], ']')
				if j < 0 {
					i = n
					continue
				}
				i += j
			}
			c := p[i]
			i++
			switch {
			case c == ']':
				s.brackets++
			case c == '>' && s.brackets >= 2:
				s.st = stData
			default:
				s.brackets = 0
			}

		case stRawText:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				i = n
				continue
			}
			i += j
			s.ltAt = base + int64(i)
			i++
			s.st = stRawLessThan

		case stRawLessThan:
			if p[i] == '/' {
				s.startRawEnd(rawEndTag, stRawText)
				i++
			} else {
				s.st = stRawText // reconsume
			}

		case stRawEndTag:
			c := p[i]
			if s.rawIdx < len(s.rawName) {
				if lower(c) == s.rawName[s.rawIdx] {
					s.rawIdx++
					i++
				} else {
					s.st = s.rawFail // reconsume
				}
				continue
			}
			if !(isSpace(c) || c == '/' || c == '>') {
				s.st = s.rawFail // reconsume
				continue
			}
			switch s.rawMode {
			case rawEndTag:
				// "</name" is an end tag; reconsume the delimiter in
				// the tag name state.
				s.tagStart = s.ltAt
				s.isEnd, s.selfClose, s.cand = true, false, false
				s.nameLen = copy(s.name[:], s.rawName)
				s.st = stTagName
			case rawEndToEscaped:
				s.st = stScriptEscaped
				i++
			case rawEndToDoubleEscaped:
				s.st = stScriptDoubleEscaped
				i++
			}

		case stPlaintext:
			i = n

		case stScriptData:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				i = n
				continue
			}
			i += j
			s.ltAt = base + int64(i)
			i++
			s.st = stScriptLessThan

		case stScriptLessThan:
			switch p[i] {
			case '/':
				s.startRawEnd(rawEndTag, stScriptData)
				i++
			case '!':
				s.st = stScriptEscapeStart
				i++
			default:
				s.st = stScriptData // reconsume
			}

		case stScriptEscapeStart, stScriptEscapeStartDash:
			if p[i] == '-' {
				i++
				if s.st == stScriptEscapeStart {
					s.st = stScriptEscapeStartDash
				} else {
					s.st = stScriptEscapedDashDash
				}
			} else {
				s.st = stScriptData // reconsume
			}

		case stScriptEscaped, stScriptEscapedDash, stScriptEscapedDashDash:
			c := p[i]
			i++
			switch {
			case c == '-':
				if s.st == stScriptEscaped {
					s.st = stScriptEscapedDash
				} else {
					s.st = stScriptEscapedDashDash
				}
			case c == '<':
				s.ltAt = base + int64(i-1)
				s.st = stScriptEscapedLessThan
			case c == '>' && s.st == stScriptEscapedDashDash:
				s.st = stScriptData
			default:
				s.st = stScriptEscaped
			}

		case stScriptEscapedLessThan:
			c := p[i]
			switch {
			case c == '/':
				s.startRawEnd(rawEndTag, stScriptEscaped)
				i++
			case isAlpha(c):
				// Reconsume in the double escape start state, which
				// matches "script" like an end tag name.
				s.startRawEnd(rawEndToDoubleEscaped, stScriptEscaped)
			case s.spec:
				s.st = stScriptEscaped // reconsume
			default:
				s.st = stScriptData // reconsume (x/net/html)
			}

		case stScriptDoubleEscaped, stScriptDoubleEscapedDash, stScriptDoubleEscapedDashDash:
			c := p[i]
			i++
			switch {
			case c == '-':
				if s.st == stScriptDoubleEscaped {
					s.st = stScriptDoubleEscapedDash
				} else {
					s.st = stScriptDoubleEscapedDashDash
				}
			case c == '<':
				s.st = stScriptDoubleEscapedLessThan
			case c == '>' && s.st == stScriptDoubleEscapedDashDash:
				s.st = stScriptData
			default:
				s.st = stScriptDoubleEscaped
			}

		case stScriptDoubleEscapedLessThan:
			if p[i] == '/' {
				s.startRawEnd(rawEndToEscaped, stScriptDoubleEscaped)
				i++
			} else {
				s.st = stScriptDoubleEscaped // reconsume
			}
		}
	next:
	}
	s.off = base + int64(n)
	return n, evNone
}

func (s *scanner) startRawEnd(mode rawEndMode, fail state) {
	s.st, s.rawIdx, s.rawMode, s.rawFail = stRawEndTag, 0, mode, fail
}

// emitTag handles a tag whose '>' ends at absolute offset end and returns
// the event it is, if any. It sets the next state.
func (s *scanner) emitTag(end int64) event {
	if s.trace != nil {
		s.trace(s.isEnd, s.tagStart, end, string(s.name[:min(s.nameLen, maxName)]), s.nameLen)
	}
	s.st = stData
	if s.isEnd {
		switch {
		case s.cand:
			s.cand = false
			if end-s.tagStart <= s.capLen {
				return evBodyEnd
			}
		case s.nameIs("svg") || s.nameIs("math"):
			if s.depth > 0 {
				s.depth--
			}
		case s.nameIs("p") || s.nameIs("br"):
			s.depth = 0
		}
		return evNone
	}
	if s.nameLen > maxName {
		return evNone
	}
	name := s.name[:s.nameLen]
	if isBreakout(name) {
		s.depth = 0
	}
	if s.nameIs("svg") || s.nameIs("math") {
		if !s.selfClose {
			s.depth++
		}
		return evNone
	}
	if !s.foreign() {
		switch rawKind(name) {
		case rawScript:
			s.st, s.rawName = stScriptData, "script"
		case rawPlain:
			s.st = stPlaintext
		case rawText:
			s.st, s.rawName = stRawText, rawTextName(name)
		}
	}
	if s.nameIs("head") {
		return evHead
	}
	return evNone
}

type rawKindT uint8

const (
	rawNone rawKindT = iota
	rawText
	rawScript
	rawPlain
)

// rawKind says how the content of a start tag with this (lower-case) name
// is tokenized in HTML content.
func rawKind(name []byte) rawKindT {
	switch string(name) {
	case "script":
		return rawScript
	case "plaintext":
		return rawPlain
	case "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript":
		return rawText
	}
	return rawNone
}

// rawTextName returns name as a constant string, so that keeping it does not
// allocate.
func rawTextName(name []byte) string {
	switch string(name) {
	case "style":
		return "style"
	case "textarea":
		return "textarea"
	case "title":
		return "title"
	case "xmp":
		return "xmp"
	case "iframe":
		return "iframe"
	case "noembed":
		return "noembed"
	case "noframes":
		return "noframes"
	}
	return "noscript"
}

// isBreakout reports whether an HTML start tag with this name ends foreign
// (svg/math) content.
func isBreakout(name []byte) bool {
	switch string(name) {
	case "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt",
		"em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li",
		"listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
		"strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var":
		return true
	}
	return false
}
