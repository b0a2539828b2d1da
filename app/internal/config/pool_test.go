package config

import (
	"strings"
	"testing"
)

func TestPoolSizes(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.DBPoolMaxConns != 0 || c.DBRelayPoolMaxConns != DefaultRelayPoolMaxConns {
		t.Fatalf("pool defaults: %d (want 0: derived from the CPUs) and %d", c.DBPoolMaxConns, c.DBRelayPoolMaxConns)
	}
	m := valid()
	m["DB_POOL_MAX_CONNS"], m["DB_RELAY_POOL_MAX_CONNS"] = "16", "3"
	if c, err = Load(env(m)); err != nil || c.DBPoolMaxConns != 16 || c.DBRelayPoolMaxConns != 3 {
		t.Fatalf("pool sizes: %d %d %v", c.DBPoolMaxConns, c.DBRelayPoolMaxConns, err)
	}
	m["DB_POOL_MAX_CONNS"], m["DB_RELAY_POOL_MAX_CONNS"] = "0", "17"
	_, err = Load(env(m))
	if err == nil || !strings.Contains(err.Error(), "DB_POOL_MAX_CONNS") || !strings.Contains(err.Error(), "DB_RELAY_POOL_MAX_CONNS") {
		t.Fatalf("out-of-range pool sizes: %v", err)
	}
}
