package devidp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// SubmitLogin fills in and submits the sign-in form of loginPage, as a
// browser would: it parses the page's HTML (the body must not have been
// read yet; SubmitLogin closes it), takes the first form that has a password
// field, resolves its action against the page's URL, and sends username,
// password and every other named field (hidden ones included) with the
// form's method using client. It returns the final response after client
// followed redirects as it normally does; the caller closes its body.
//
// It works with the form served by this package and with simple forms of
// other providers: the username goes into the field named "username" or, if
// there is none, into the first text or email field.
func SubmitLogin(client *http.Client, loginPage *http.Response, username, password string) (*http.Response, error) {
	if loginPage == nil || loginPage.Body == nil {
		return nil, errors.New("devidp: SubmitLogin: no login page response")
	}
	defer func() { _ = loginPage.Body.Close() }()
	if loginPage.Request == nil || loginPage.Request.URL == nil {
		return nil, errors.New("devidp: SubmitLogin: login page response has no request URL")
	}
	if client == nil {
		client = http.DefaultClient
	}
	doc, err := html.Parse(io.LimitReader(loginPage.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("devidp: SubmitLogin: parse login page: %w", err)
	}
	form := findLoginForm(doc)
	if form == nil {
		return nil, fmt.Errorf("devidp: SubmitLogin: no form with a password field on %s (status %d)",
			loginPage.Request.URL, loginPage.StatusCode)
	}

	action := loginPage.Request.URL
	if a, ok := attr(form, "action"); ok && strings.TrimSpace(a) != "" {
		ref, err := url.Parse(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("devidp: SubmitLogin: form action %q: %w", a, err)
		}
		action = action.ResolveReference(ref)
	}
	action = &url.URL{ // drop any fragment; keep everything else
		Scheme: action.Scheme, Opaque: action.Opaque, User: action.User, Host: action.Host,
		Path: action.Path, RawPath: action.RawPath, RawQuery: action.RawQuery,
	}
	method, _ := attr(form, "method")
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		method = http.MethodGet
	}

	values := formValues(form, username, password)
	// The page's request context may already be done (an http.Client with a
	// Timeout cancels it once the body is read); keep only its values.
	ctx := context.WithoutCancel(loginPage.Request.Context())
	var req *http.Request
	switch method {
	case http.MethodPost:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case http.MethodGet:
		action.RawQuery = values.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	default:
		return nil, fmt.Errorf("devidp: SubmitLogin: unsupported form method %q", method)
	}
	if err != nil {
		return nil, fmt.Errorf("devidp: SubmitLogin: build request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devidp: SubmitLogin: submit form to %s: %w", action, err)
	}
	return resp, nil
}

// attr returns the value of attribute key of n.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val, true
		}
	}
	return "", false
}

// walk calls f for n and its descendants in document order, stopping when f
// returns false.
func walk(n *html.Node, f func(*html.Node) bool) bool {
	if !f(n) {
		return false
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if !walk(c, f) {
			return false
		}
	}
	return true
}

// findLoginForm returns the first form containing a password input.
func findLoginForm(doc *html.Node) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode || n.DataAtom != atom.Form {
			return true
		}
		walk(n, func(c *html.Node) bool {
			if isInput(c) && inputType(c) == "password" {
				found = n
				return false
			}
			return true
		})
		return found == nil
	})
	return found
}

func isInput(n *html.Node) bool {
	return n.Type == html.ElementNode && n.DataAtom == atom.Input
}

func inputType(n *html.Node) string {
	t, _ := attr(n, "type")
	t = strings.ToLower(strings.TrimSpace(t))
	if t == "" {
		return "text"
	}
	return t
}

// formValues collects the named fields of form, filling in the credentials.
func formValues(form *html.Node, username, password string) url.Values {
	var inputs []*html.Node
	hasUsernameField := false
	walk(form, func(n *html.Node) bool {
		if isInput(n) {
			if name, _ := attr(n, "name"); name != "" {
				inputs = append(inputs, n)
				if name == "username" {
					hasUsernameField = true
				}
			}
		}
		return true
	})
	values := url.Values{}
	usernameSet := false
	for _, in := range inputs {
		name, _ := attr(in, "name")
		value, _ := attr(in, "value")
		if _, disabled := attr(in, "disabled"); disabled {
			continue
		}
		switch inputType(in) {
		case "password":
			values.Add(name, password)
		case "submit", "button", "reset", "image", "file":
			// not successful controls unless clicked; none is clicked
		case "checkbox", "radio":
			if _, checked := attr(in, "checked"); checked {
				if value == "" {
					value = "on"
				}
				values.Add(name, value)
			}
		case "text", "email":
			if !usernameSet && (name == "username" || !hasUsernameField) {
				values.Add(name, username)
				usernameSet = true
				continue
			}
			values.Add(name, value)
		default: // hidden and the rest
			values.Add(name, value)
		}
	}
	return values
}
