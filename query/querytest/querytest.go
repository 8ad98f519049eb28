// Package querytest writes small Parquet lakes for the tests and benchmarks of package query
// through the real Parquet sink (sinks/parquet), so fixtures have exactly the sink's keys,
// file names, column names, types and nulls.
package querytest

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
	"github.com/flowtap/flowtap/sinks"
	"github.com/flowtap/flowtap/sinks/parquet"
)

// offsets makes every WriteLake call a distinct batch, so calls never rewrite each other's
// objects.
var offsets atomic.Int64

// WriteLake writes recs under dir as the Parquet sink does: one object per (kind, account,
// region, 5-minute end bucket) in style, with the columns of format (nil: the sink's
// default for the kind). The records must all be of format's kind when format is given.
func WriteLake(dir string, style lake.Style, format *flowlog.Format, recs []flowlog.Record) error {
	return WriteLakeCodec(dir, style, format, "", recs)
}

// WriteLakeCodec is WriteLake with a page codec (gzip, zstd, snappy or none; "" = gzip).
func WriteLakeCodec(dir string, style lake.Style, format *flowlog.Format, codec string, recs []flowlog.Record) error {
	if len(recs) == 0 {
		return nil
	}
	store, err := objstore.NewDir(dir)
	if err != nil {
		return err
	}
	cfg := parquet.DefaultConfig()
	cfg.Layout = style.String()
	if codec != "" {
		cfg.Compression = codec
	}
	if format != nil {
		if format.Kind() == flowlog.KindTGW {
			cfg.TGWFormat = format.String()
		} else {
			cfg.VPCFormat = format.String()
		}
	}
	sink, err := parquet.New(cfg, store, component.Deps{})
	if err != nil {
		return fmt.Errorf("querytest: %w", err)
	}
	defer sink.Close()
	first := offsets.Add(int64(len(recs))) - int64(len(recs))
	b := &sinks.Batch{Topic: "querytest", FirstOffset: first, LastOffset: first + int64(len(recs)) - 1, Records: recs}
	if err := sink.Write(context.Background(), b); err != nil {
		return fmt.Errorf("querytest: %w", err)
	}
	return nil
}
