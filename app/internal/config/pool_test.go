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

func TestGroupCommitSettings(t *testing.T) {
	c, err := Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.OrderBatchWorkers != DefaultOrderBatchWorkers || c.OrderBatchMaxWait != DefaultOrderBatchMaxWait {
		t.Fatalf("group commit defaults: %d workers, wait %s", c.OrderBatchWorkers, c.OrderBatchMaxWait)
	}
	m := valid()
	m["ORDER_BATCH_WORKERS"], m["ORDER_BATCH_MAX_WAIT"] = "0", "0"
	if c, err = Load(env(m)); err != nil || c.OrderBatchWorkers != 0 || c.OrderBatchMaxWait != 0 {
		t.Fatalf("group commit off: %d %s %v", c.OrderBatchWorkers, c.OrderBatchMaxWait, err)
	}
	m["ORDER_BATCH_WORKERS"], m["ORDER_BATCH_MAX_WAIT"] = "65", "11ms"
	_, err = Load(env(m))
	if err == nil || !strings.Contains(err.Error(), "ORDER_BATCH_WORKERS") || !strings.Contains(err.Error(), "ORDER_BATCH_MAX_WAIT") {
		t.Fatalf("out-of-range group commit settings: %v", err)
	}
}

// TestOrderBatchWorkersIsRead: the documented variable reaches the config.
func TestOrderBatchWorkersIsRead(t *testing.T) {
	m := valid()
	m["ORDER_BATCH_WORKERS"] = "8"
	c, err := Load(env(m))
	if err != nil || c.OrderBatchWorkers != 8 {
		t.Fatalf("ORDER_BATCH_WORKERS=8 loaded as %d (%v)", c.OrderBatchWorkers, err)
	}
}
