package demo

import (
	"slices"
	"testing"
)

func TestSiteForAnswersEveryLoopbackName(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		s, err := siteFor(listen)
		if err != nil {
			t.Fatal(err)
		}
		if s.url != "http://localhost:8080/" {
			t.Errorf("%s: prints %s, want http://localhost:8080/", listen, s.url)
		}
		for _, want := range []string{"http://localhost:8080", "http://127.0.0.1:8080"} {
			if !slices.Contains(s.addresses, want) {
				t.Errorf("%s: site addresses %v lack %s", listen, s.addresses, want)
			}
		}
		if hasIPv6Loopback() != slices.Contains(s.addresses, "http://[::1]:8080") {
			t.Errorf("%s: [::1] answered %v, bindable %v", listen, s.addresses, hasIPv6Loopback())
		}
		for _, b := range s.bind {
			if b != "127.0.0.1" && b != "[::1]" {
				t.Errorf("%s: binds %s, not loopback", listen, b)
			}
		}
	}
}

func TestSiteForOtherAddresses(t *testing.T) {
	s, err := siteFor("127.0.0.2:8080")
	if err != nil || s.url != "http://127.0.0.2:8080/" || !slices.Equal(s.bind, []string{"127.0.0.2"}) {
		t.Errorf("127.0.0.2: %+v %v", s, err)
	}
	s, err = siteFor("192.0.2.10:8080") // --allow-remote: any host name, bound to that address
	if err != nil || !slices.Equal(s.addresses, []string{"http://:8080"}) || !slices.Equal(s.bind, []string{"192.0.2.10"}) {
		t.Errorf("remote: %+v %v", s, err)
	}
	if _, err := siteFor("8080"); err == nil {
		t.Error("an address without a port was accepted")
	}
}
