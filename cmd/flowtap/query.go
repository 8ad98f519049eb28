package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/query"
	"github.com/flowtap/flowtap/query/logs"
)

func newQueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Ask ad-hoc questions: SQL over the Parquet lake, LogQL over the log store",
		Long: `query runs ad-hoc queries against flowtap's two stores:

  flowtap query sql   SQL (DuckDB) over the Parquet lake, local or s3://
  flowtap query logs  LogQL against the embedded log store or any Loki`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newQuerySQLCmd(), newQueryLogsCmd())
	return cmd
}

type querySQLOptions struct {
	lake, since, from, to, format, out, saved, cacheDir string
	list                                                bool
	threads                                             int
	s3                                                  objstore.Options
}

func newQuerySQLCmd() *cobra.Command {
	var o querySQLOptions
	cmd := &cobra.Command{
		Use:   `sql [--lake DIR|s3://bucket/prefix] [--since DUR | --from T --to T] [--format table|csv|json|parquet|arrow] [--out FILE] [--saved NAME | --list] "SQL"`,
		Short: "Run SQL (DuckDB) over the Parquet lake",
		Long: `sql runs one SQL statement (DuckDB's dialect) over the Parquet lake written by the Parquet
sink or by AWS itself (plain or hive-compatible key layout, daily or hourly). Two views are
defined:

  vpc_flow_logs  every VPC Flow Log field as a column (account_id, srcaddr, dstport, bytes,
                 start, "end", action, log_status, …; quote "end"), then aws_account_id,
                 aws_region, year, month, day, hour (strings, from the file's path)
  tgw_flow_logs  the 36 Transit Gateway fields, then the same path columns

Fields a file lacks read as NULL. A time range (--since, or --from/--to) reads only the
partitions (days or hours) that overlap it and keeps only records whose end lies in it.

An s3:// lake is copied to a local cache first (only the partitions of the time range; files
already cached are not fetched again); credentials and endpoint come from --s3-* or the
AWS_* environment variables.

Saved queries (--saved NAME, listed by --list) cover common questions.

Examples:
  flowtap query sql --saved top-talkers --since 1h
  flowtap query sql "SELECT action, count(*) FROM vpc_flow_logs GROUP BY action"
  flowtap query sql --from 2024-05-01 --to 2024-05-02 --format parquet --out may1.parquet \
      "SELECT * FROM vpc_flow_logs WHERE dstport = 22"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuerySQL(cmd, &o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.lake, "lake", "data/lake", "the lake: a directory or s3://bucket/prefix (the directory holding AWSLogs/)")
	f.StringVar(&o.since, "since", "", "only records that ended in the last DUR (e.g. 15m, 6h, 7d)")
	f.StringVar(&o.from, "from", "", "only records that ended at or after T (RFC 3339, a date, Unix seconds or now-DUR)")
	f.StringVar(&o.to, "to", "", "only records that ended before T")
	f.StringVar(&o.format, "format", "table", "output: table (aligned), csv, json (JSON lines), parquet or arrow (Arrow IPC file)")
	f.StringVar(&o.out, "out", "", "write the result to FILE instead of standard output (needed for parquet/arrow on a terminal)")
	f.StringVar(&o.saved, "saved", "", "run a saved query instead of SQL (see --list)")
	f.BoolVar(&o.list, "list", false, "list the saved queries and exit")
	f.StringVar(&o.cacheDir, "cache-dir", "", "local copy of an s3:// lake (default: the user cache directory, flowtap/lake/BUCKET/PREFIX)")
	f.IntVar(&o.threads, "threads", 0, "DuckDB worker threads (0: one per core)")
	f.StringVar(&o.s3.Endpoint, "s3-endpoint", "", "S3 endpoint URL for an s3:// lake (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or AWS)")
	f.StringVar(&o.s3.Region, "s3-region", "", "S3 region (default AWS_REGION or us-east-1)")
	f.BoolVar(&o.s3.PathStyle, "s3-path-style", false, "address buckets as ENDPOINT/BUCKET (most self-hosted S3 servers)")
	return cmd
}

func runQuerySQL(cmd *cobra.Command, o *querySQLOptions, args []string) error {
	stdout := cmd.OutOrStdout()
	if o.list {
		for _, s := range query.SavedQueries() {
			fmt.Fprintf(stdout, "%-12s %s\n", s.Name, s.Description)
		}
		return nil
	}
	var text string
	switch {
	case o.saved != "" && len(args) > 0:
		return errors.New("give either --saved NAME or an SQL statement, not both")
	case o.saved != "":
		s, err := query.LookupSaved(o.saved)
		if err != nil {
			return err
		}
		text = s.SQL
	case len(args) == 1 && strings.TrimSpace(args[0]) != "":
		text = args[0]
	default:
		return errors.New(`no query: give an SQL statement ("SELECT … FROM vpc_flow_logs"), --saved NAME or --list`)
	}
	format, err := query.ParseOutputFormat(o.format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if format.Binary() && o.out == "" && isTerminal(stdout) {
		return fmt.Errorf("--format %s writes a binary file: give --out FILE or redirect standard output", format)
	}
	r, err := query.ParseTimeRange(o.since, o.from, o.to, time.Now())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	dir := o.lake
	if strings.HasPrefix(o.lake, "s3://") {
		if dir, err = syncLake(cmd, o, r); err != nil {
			return err
		}
	}
	e, err := query.Open(ctx, query.Config{Dir: dir, Range: r, Threads: o.threads})
	if err != nil {
		return err
	}
	defer e.Close()
	if n := e.Skipped(); n > 0 {
		slog.Warn("Parquet files outside AWS's key layout were ignored", "files", n)
	}
	lower := strings.ToLower(text)
	for _, v := range []struct {
		view string
		kind flowlog.Kind
	}{{"vpc_flow_logs", flowlog.KindVPC}, {"tgw_flow_logs", flowlog.KindTGW}} {
		if strings.Contains(lower, v.view) && len(e.Files(v.kind)) == 0 {
			slog.Warn("the view has no files in the lake for this range", "view", v.view, "lake", o.lake, "range", r.String())
		}
	}
	rows, err := e.Query(ctx, text)
	if err != nil {
		return err
	}
	defer rows.Close()
	w := stdout
	var file *os.File
	if o.out != "" {
		if file, err = os.Create(o.out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		w = file
	}
	n, err := query.Write(w, rows, format)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(o.out)
		}
	}
	if err != nil {
		return err
	}
	if o.out != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d rows to %s\n", n, o.out)
	}
	return nil
}

// syncLake copies the range's files of an s3:// lake into the cache and returns its path.
func syncLake(cmd *cobra.Command, o *querySQLOptions, r query.TimeRange) (string, error) {
	store, err := objstore.Open(o.lake, o.s3)
	if err != nil {
		return "", err
	}
	dir := o.cacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("--cache-dir: %w", err)
		}
		u, err := url.Parse(o.lake)
		if err != nil {
			return "", fmt.Errorf("--lake: %w", err)
		}
		dir = filepath.Join(base, "flowtap", "lake", u.Host, filepath.FromSlash(strings.Trim(u.Path, "/")))
	}
	start := time.Now()
	st, err := query.Sync(cmd.Context(), store, dir, r)
	if err != nil {
		return "", err
	}
	slog.Debug("lake synced", "lake", o.lake, "cache", dir, "in_range", st.InRange, "fetched", st.Fetched,
		"bytes", st.Bytes, "removed", st.Removed, "took", time.Since(start).Round(time.Millisecond))
	return dir, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type queryLogsOptions struct {
	cfg                         logs.Config
	since, from, to, output, at string
	limit                       int
	instant, forward            bool
	step                        time.Duration
}

func newQueryLogsCmd() *cobra.Command {
	o := queryLogsOptions{cfg: logs.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   `logs [--loki-url URL] [--tenant T] [--since DUR | --from T --to T] [--limit N] [--output table|raw|json] 'LogQL'`,
		Short: "Run LogQL against the embedded log store or any Loki",
		Long: `logs sends a LogQL query to a Loki HTTP API (/loki/api/v1/query_range, or /query with
--instant) and prints the result like logcli: log lines newest first with their time and
labels, or a table of series for metric queries (one column per label, then time and value).
Errors from the server, such as LogQL parse errors, are shown as the server wrote them.

Examples:
  flowtap query logs '{kind="vpc"} |= "REJECT"' --since 15m
  flowtap query logs --instant 'sum by (region) (count_over_time({kind="vpc"}[5m]))'
  flowtap query logs '{log_stream="eni-0d3e0000000000001-all"}'
  flowtap query logs --loki-url http://loki:3100 --tenant team-a '{log_group="vpc-flow-logs", account="123456789012"}'

Streams written by flowtap's Loki sink carry the labels log_group, log_stream ({eni}-all or
the transit gateway id), account, region and kind (vpc or tgw); lines are AWS text lines.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQueryLogs(cmd, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.cfg.URL, "loki-url", o.cfg.URL, "base URL of the Loki API (default: the embedded log store of flowtap up)")
	f.StringVar(&o.cfg.Tenant, "tenant", "", "tenant (X-Scope-OrgID header)")
	f.DurationVar(&o.cfg.Timeout, "timeout", o.cfg.Timeout, "time limit of the request")
	f.StringVar(&o.since, "since", "1h", "look back DUR from now (ignored with --from)")
	f.StringVar(&o.from, "from", "", "start of the range (RFC 3339, a date, Unix seconds or now-DUR)")
	f.StringVar(&o.to, "to", "", "end of the range (default now); the evaluation time with --instant")
	f.IntVar(&o.limit, "limit", 30, "most log lines to return")
	f.StringVar(&o.output, "output", "table", "output: table (time, labels, line), raw (lines only) or json (JSON lines)")
	f.BoolVar(&o.instant, "instant", false, "instant query (/query) at --to or now, for metric queries")
	f.BoolVar(&o.forward, "forward", false, "oldest lines first")
	f.DurationVar(&o.step, "step", 0, "resolution of a metric range query (default: the server's)")
	return cmd
}

func runQueryLogs(cmd *cobra.Command, o *queryLogsOptions, logQL string) error {
	out, err := logs.ParseOutput(o.output)
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	// The range ends at --to (default now) and starts at --from, else --since before its end.
	now := time.Now()
	var r query.TimeRange
	if r.To, err = timeFlag("--to", o.to, now, now); err != nil {
		return err
	}
	if o.from != "" {
		if r.From, err = timeFlag("--from", o.from, now, now); err != nil {
			return err
		}
	} else {
		d, err := query.ParseDuration(o.since)
		if err != nil || d <= 0 {
			return fmt.Errorf("--since: %q is not a positive duration (e.g. 15m, 6h, 7d)", o.since)
		}
		r.From = r.To.Add(-d)
	}
	if !o.instant && !r.From.Before(r.To) {
		return fmt.Errorf("--from %s is not before --to %s", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	}
	c, err := logs.New(o.cfg)
	if err != nil {
		return err
	}
	res, err := c.Query(cmd.Context(), logs.Request{
		Query: logQL, Instant: o.instant, Start: r.From, End: r.To,
		Limit: o.limit, Forward: o.forward, Step: o.step,
	})
	if err != nil {
		return err
	}
	return logs.Write(cmd.OutOrStdout(), res, out, o.forward)
}

// timeFlag parses a time flag; empty gives def.
func timeFlag(name, v string, now, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := query.ParseTime(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
