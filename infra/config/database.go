package config

import (
	"regexp"
	"strconv"
)

// Database configures the Aurora PostgreSQL cluster.
type Database struct {
	// EngineVersion is the aurora-postgresql 14.x version the cluster is
	// created with; later minor versions arrive through auto minor version
	// upgrade in the maintenance window. The default (Pulumi.yaml) is a
	// minor AWS lists under "PostgreSQL 14 versions" in the Aurora
	// PostgreSQL release notes ("Amazon Aurora PostgreSQL updates",
	// AuroraPostgreSQLReleaseNotes/AuroraPostgreSQL.Updates); AWS's what's-new
	// posts confirm 14.19 with the 17.6 release, and 14.20 came with 17.7
	// (the release notes' query plan management page dates Aurora 17.7 to
	// December 18, 2025). Confirm it is orderable in the account first:
	// aws rds describe-orderable-db-instance-options --engine aurora-postgresql
	// --engine-version <v> (docs/deploy.md, first deploy).
	EngineVersion string
	// InstanceClass is the class of every Pulumi-managed instance (and of the
	// readers Aurora Auto Scaling adds, which copy the writer's class).
	InstanceClass string
	// ReaderCount is the number of readers Pulumi creates, each in its own AZ;
	// it is also the autoscaling minimum.
	ReaderCount int
	// ReaderMaxCount is the autoscaling maximum of readers.
	ReaderMaxCount int
	// ReaderCPUTarget is the target of the RDSReaderAverageCPUUtilization
	// tracking policy, in percent.
	ReaderCPUTarget int
	// BackupRetentionDays is the automated backup (and PITR) window.
	BackupRetentionDays int
	// BackupWindow is the daily backup window, hh24:mi-hh24:mi UTC.
	BackupWindow string
	// MaintenanceWindow is the weekly window, ddd:hh24:mi-ddd:hh24:mi UTC.
	MaintenanceWindow string
	// MonitoringInterval is the Enhanced Monitoring interval in seconds.
	MonitoringInterval int
	// PerformanceInsightsRetentionDays is how long Performance Insights keeps data.
	PerformanceInsightsRetentionDays int
	// Name is the database created in the cluster.
	Name string
	// MasterUsername is the master user; its password is RDS-managed in
	// Secrets Manager and never passes through config or state.
	MasterUsername string
	// SlowQueryMs is log_min_duration_statement (-1 turns it off).
	SlowQueryMs int
	// InstanceParameterGroup optionally names an existing DB parameter group
	// for the instances; empty uses the engine default.
	InstanceParameterGroup string
	// ApplyImmediately applies instance and cluster modifications at once
	// instead of in the next maintenance window.
	ApplyImmediately bool
}

// MonitoringIntervals are the Enhanced Monitoring intervals (seconds) RDS
// accepts, 0 (off) excluded: Enhanced Monitoring is always on here.
var MonitoringIntervals = []int{1, 5, 10, 15, 30, 60}

// PerformanceInsightsRetentions are the retention periods Performance
// Insights accepts: 7 days (free tier), a multiple of 31 up to 713, or 731.
var PerformanceInsightsRetentions = func() []int {
	out := []int{7}
	for m := 1; m <= 23; m++ {
		out = append(out, 31*m)
	}
	return append(out, 731)
}()

// MaxReaders is the most readers Pulumi creates: every instance gets its own
// availability zone, and the stack spans three (one for the writer).
const MaxReaders = 2

var (
	engineVersionPattern = regexp.MustCompile(`^14\.[0-9]{1,2}$`)
	// Graviton classes Aurora PostgreSQL offers; t4g is the burstable
	// (cost) class, r6g/r7g/r8g/x2g the memory-optimised ones.
	instanceClassPattern = regexp.MustCompile(`^db\.(t4g\.(medium|large)|(r6g|r7g|r8g)\.(large|[0-9]*xlarge)|x2g\.[0-9]*xlarge)$`)
	dbIdentPattern       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	paramGroupPattern    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,254}$`)
	backupWindowPattern  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$`)
	maintWindowPattern   = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):([0-5][0-9])$`)
	weekdays             = map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
)

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
	// minWindowMinutes is the shortest backup or maintenance window RDS accepts.
	minWindowMinutes = 30
)

// database reads the trading-ha:db* keys.
func (r *reader) database(k func(string) string) Database {
	d := Database{
		EngineVersion:                    r.str(k("dbEngineVersion"), engineVersionPattern, "an Aurora PostgreSQL 14 minor version such as 14.20"),
		InstanceClass:                    r.str(k("dbInstanceClass"), instanceClassPattern, "a Graviton DB instance class Aurora PostgreSQL offers (db.t4g.medium|large, db.r6g/r7g/r8g.large|<n>xlarge, db.x2g.<n>xlarge)"),
		ReaderCount:                      r.integer(k("dbReaderCount"), 1, MaxReaders),
		ReaderMaxCount:                   r.integer(k("dbReaderMaxCount"), 1, 15),
		ReaderCPUTarget:                  r.integer(k("dbReaderCpuTarget"), 20, 90),
		BackupRetentionDays:              r.integer(k("dbBackupRetentionDays"), 7, 35),
		BackupWindow:                     r.str(k("dbBackupWindow"), backupWindowPattern, "a daily UTC window hh24:mi-hh24:mi such as 03:00-04:00"),
		MaintenanceWindow:                r.str(k("dbMaintenanceWindow"), maintWindowPattern, "a weekly UTC window ddd:hh24:mi-ddd:hh24:mi such as sun:05:00-sun:06:00"),
		MonitoringInterval:               r.integerIn(k("dbMonitoringInterval"), MonitoringIntervals, "Enhanced Monitoring intervals in seconds"),
		PerformanceInsightsRetentionDays: r.integerIn(k("dbPerformanceInsightsRetentionDays"), PerformanceInsightsRetentions, "Performance Insights retention periods (7, a multiple of 31 up to 713, or 731)"),
		Name:                             r.str(k("dbName"), dbIdentPattern, "lowercase letters, digits and underscores, 1-63 characters, starting with a letter"),
		MasterUsername:                   r.str(k("dbMasterUsername"), dbIdentPattern, "lowercase letters, digits and underscores, 1-63 characters, starting with a letter"),
		SlowQueryMs:                      r.integer(k("dbSlowQueryMs"), -1, 3600000),
		InstanceParameterGroup:           r.optional(k("dbInstanceParameterGroup"), paramGroupPattern, "empty or a DB parameter group name (a letter, then letters, digits and hyphens)"),
		ApplyImmediately:                 r.boolean(k("dbApplyImmediately")),
	}
	if d.MasterUsername == "postgres" || d.MasterUsername == "rdsadmin" {
		r.fail(k("dbMasterUsername"), d.MasterUsername, "must not be a name RDS reserves (postgres, rdsadmin)")
	}
	if d.ReaderMaxCount != 0 && d.ReaderCount != 0 && d.ReaderMaxCount < d.ReaderCount {
		r.fail(k("dbReaderMaxCount"), strconv.Itoa(d.ReaderMaxCount),
			"must be at least dbReaderCount (%d): it is the autoscaling maximum and dbReaderCount the minimum", d.ReaderCount)
	}
	backup, bok := r.dailyWindow(k("dbBackupWindow"), d.BackupWindow)
	maint, mok := r.weeklyWindow(k("dbMaintenanceWindow"), d.MaintenanceWindow)
	if bok && mok && windowsOverlap(backup, maint) {
		r.fail(k("dbMaintenanceWindow"), d.MaintenanceWindow, "must not overlap dbBackupWindow (%s, daily)", d.BackupWindow)
	}
	return d
}

// span is a half-open interval [start, end) in minutes from Monday 00:00
// UTC; end may exceed a week when the window wraps.
type span struct{ start, end int }

// dailyWindow parses and checks a backup window; ok is false when the value
// was already reported invalid.
func (r *reader) dailyWindow(key, v string) (span, bool) {
	m := backupWindowPattern.FindStringSubmatch(v)
	if m == nil {
		return span{}, false
	}
	start, end := atoi(m[1])*60+atoi(m[2]), atoi(m[3])*60+atoi(m[4])
	if end <= start {
		end += minutesPerDay
	}
	if end-start < minWindowMinutes {
		r.fail(key, v, "must be at least %d minutes long", minWindowMinutes)
		return span{}, false
	}
	return span{start, end}, true
}

// weeklyWindow parses and checks a maintenance window.
func (r *reader) weeklyWindow(key, v string) (span, bool) {
	m := maintWindowPattern.FindStringSubmatch(v)
	if m == nil {
		return span{}, false
	}
	start := weekdays[m[1]]*minutesPerDay + atoi(m[2])*60 + atoi(m[3])
	end := weekdays[m[4]]*minutesPerDay + atoi(m[5])*60 + atoi(m[6])
	if end <= start {
		end += minutesPerWeek
	}
	if end-start < minWindowMinutes {
		r.fail(key, v, "must be at least %d minutes long", minWindowMinutes)
		return span{}, false
	}
	if end-start > minutesPerDay {
		r.fail(key, v, "must be at most 24 hours long")
		return span{}, false
	}
	return span{start, end}, true
}

// windowsOverlap reports whether a daily window (repeated on each of the
// seven days) overlaps a weekly window, wrap-around included.
func windowsOverlap(daily, weekly span) bool {
	for day := -1; day <= 7; day++ {
		d := span{daily.start + day*minutesPerDay, daily.end + day*minutesPerDay}
		for _, shift := range []int{-minutesPerWeek, 0, minutesPerWeek} {
			w := span{weekly.start + shift, weekly.end + shift}
			if d.start < w.end && w.start < d.end {
				return true
			}
		}
	}
	return false
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // callers pass regexp-checked digits
	return n
}
