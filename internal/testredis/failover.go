package testredis

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// failoverTimeout bounds waiting for a failover to finish.
const failoverTimeout = 60 * time.Second

// Failover asks the first sentinel for a graceful failover (SENTINEL
// FAILOVER): the replica is promoted while the master still runs, and the
// old master is turned into its replica afterwards.
func (s *SentinelSet) Failover(t testing.TB) {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	defer sc.Close()
	if err := sc.Failover(context.Background(), s.MasterName).Err(); err != nil {
		t.Fatalf("testredis: SENTINEL FAILOVER: %v", err)
	}
}

// WaitMaster waits until every sentinel names srv as the master.
func (s *SentinelSet) WaitMaster(t testing.TB, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	for _, sn := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		waitFor(ctx, t, "sentinel "+sn.Addr+" to name "+srv.Addr+" the master", func() bool {
			a, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
			return err == nil && len(a) == 2 && a[1] == strconv.Itoa(srv.port)
		})
		_ = sc.Close()
	}
}

// WaitNewMaster waits until every sentinel names the same server, other
// than old, the master, and returns it.
func (s *SentinelSet) WaitNewMaster(t testing.TB, old *Server) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	defer sc.Close()
	var found *Server
	waitFor(ctx, t, "a new master", func() bool {
		a, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
		if err != nil || len(a) != 2 {
			return false
		}
		for _, r := range append([]*Server{s.Master}, s.Replicas...) {
			if r != old && a[1] == strconv.Itoa(r.port) {
				found = r
			}
		}
		return found != nil
	})
	s.WaitMaster(t, found)
	return found
}

// WaitInSync waits until replica replicates master with its link up and has
// everything master has (the same replication offset).
func WaitInSync(t testing.TB, replica, master *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	rc, mc := replica.Client(t), master.Client(t)
	waitFor(ctx, t, replica.Addr+" in sync with "+master.Addr, func() bool {
		r, err := rc.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(r, "master_port:"+strconv.Itoa(master.port)+"\r") ||
			!strings.Contains(r, "master_link_status:up") {
			return false
		}
		m, err := mc.Info(ctx, "replication").Result()
		return err == nil && infoField(m, "master_repl_offset") != "" &&
			infoField(m, "master_repl_offset") == infoField(r, "slave_repl_offset")
	})
}

// infoField returns one field of an INFO reply.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
