package caddymodule_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testredis"
)

// A back-channel logout that the store cannot carry out (503) can be sent
// again by the provider: the token's replay marker is removed when ending
// the sessions fails. Here `min_replicas 1` on a master whose replica is
// down: the marker is written, the ending cannot be confirmed.
func TestBackchannelLogoutRetriedAfterStoreRefusal(t *testing.T) {
	st := startStack(t, site{name: "boot"})
	replica := testredis.StartWith(t, testredis.Options{Args: []string{"--replicaof", "127.0.0.1", st.redis.Port()}})
	testredis.WaitInSync(t, replica, st.redis)
	guarded := site{name: "main", store: "redis " + st.redis.URL + " {\n\t\t\tmin_replicas 1\n\t\t}"}
	st.load(guarded)
	alice := st.newBrowser("main")
	expectApp(t, alice.signIn("/", "alice", "pw-alice"), "/")

	token, err := st.idp.LogoutToken(testClientID, "u-alice", "")
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		t.Helper()
		resp, err := http.Post(st.sites["main"]+"/.sessiongate/backchannel-logout", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		return resp.StatusCode
	}
	replica.Kill(t)
	if code := send(); code != http.StatusServiceUnavailable {
		t.Fatalf("back-channel logout with no replica to confirm it: %d, want 503", code)
	}
	replica.Restart(t)
	testredis.WaitInSync(t, replica, st.redis)
	if code := send(); code != http.StatusOK {
		t.Fatalf("the provider's retry of the same token: %d, want 200", code)
	}
	expectSignedOut(t, alice.navigate("/"), "backchannel", "sign-in service")
	if code := send(); code != http.StatusBadRequest {
		t.Fatalf("a third time, once it worked: %d, want 400 (replayed)", code)
	}
}
