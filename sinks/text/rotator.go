package text

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/flowtap/flowtap/lake"
	"github.com/flowtap/flowtap/lake/objstore"
)

// RotatorConfig configures a Rotator.
type RotatorConfig struct {
	// Prefix is the user folder in front of AWSLogs/ ("" for none).
	Prefix string
	// Layout is the key prefix style.
	Layout lake.Style
	// Naming holds the flow log ids of file names and the default account and region.
	lake.Naming
	// VPCFormat and TGWFormat are the formats written (nil: AWS's default formats).
	VPCFormat *flowlog.Format
	TGWFormat *flowlog.Format
	// MaxFileBytes starts a new file once a file's uncompressed text reaches it (512 MB by
	// default, about AWS's old 75 MB cap after gzip). Counting text rather than compressed
	// bytes keeps file boundaries, and so file names, independent of the compressor.
	MaxFileBytes int64
	// Lateness is how far behind the newest end time a record may still arrive; a bucket's
	// file closes once the newest end is Lateness past the bucket's end.
	Lateness time.Duration
	// MaxOpen bounds open files; past it the file of the oldest bucket closes.
	MaxOpen int
	// GzipLevel is the compression level (0: default).
	GzipLevel int
}

// DefaultRotatorConfig returns AWS-like settings.
func DefaultRotatorConfig() RotatorConfig {
	return RotatorConfig{
		Layout:       lake.Plain,
		Naming:       lake.DefaultNaming(),
		MaxFileBytes: 512 << 20,
		Lateness:     time.Minute,
		MaxOpen:      256,
	}
}

type fileKey struct {
	kind            flowlog.Kind
	account, region string
	bucket          int64
	// extras names the record's unknown columns (Record.Extra), space-separated: a text
	// file has one header, so records with other unknown columns go to another file.
	extras string
}

// Rotator writes a stream of records into AWS-style text files: one file per (kind,
// account, region, 5-minute bucket of end), closed when the bucket is complete or the
// file reaches its size limit. File names are deterministic: the same records in the same
// order give the same keys. It implements flowlog.RecordWriter; it is not safe for
// concurrent use.
type Rotator struct {
	cfg       RotatorConfig
	store     objstore.Store
	open      map[fileKey]*FileWriter
	seq       map[fileKey]int
	watermark int64
	files     []string
	records   int64
}

// NewRotator returns a rotator of cfg writing to store (as New: config first). It does no
// I/O.
func NewRotator(cfg RotatorConfig, store objstore.Store) (*Rotator, error) {
	def := DefaultRotatorConfig()
	if cfg.VPCFormat == nil {
		cfg.VPCFormat = flowlog.DefaultVPC
	}
	if cfg.TGWFormat == nil {
		cfg.TGWFormat = flowlog.DefaultTGW
	}
	if cfg.VPCFormat.Kind() != flowlog.KindVPC {
		return nil, errors.New("text: VPC format holds Transit Gateway fields")
	}
	if cfg.TGWFormat.Kind() != flowlog.KindTGW {
		return nil, errors.New("text: TGW format holds no Transit Gateway field")
	}
	cfg.Naming = cfg.Naming.WithDefaults()
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = def.MaxFileBytes
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = def.MaxOpen
	}
	return &Rotator{cfg: cfg, store: store, open: map[fileKey]*FileWriter{}, seq: map[fileKey]int{}}, nil
}

// WriteRecords routes recs to their files, rotating as buckets complete.
func (t *Rotator) WriteRecords(ctx context.Context, recs []flowlog.Record) error {
	for i := range recs {
		r := &recs[i]
		k := fileKey{kind: r.Kind, account: r.AccountID, region: r.Region, bucket: lake.Bucket(r.End).Unix()}
		if r.Extra != "" {
			k.extras = strings.Join(r.ExtraNames(), " ")
		}
		if k.account == "" {
			k.account = t.cfg.DefaultAccount
		}
		if k.region == "" {
			k.region = t.cfg.DefaultRegion
		}
		fw := t.open[k]
		if fw == nil {
			if len(t.open) >= t.cfg.MaxOpen {
				if err := t.closeOldest(ctx); err != nil {
					return err
				}
			}
			var err error
			if fw, err = t.create(ctx, k); err != nil {
				return err
			}
		}
		if err := fw.Write(r); err != nil {
			return err
		}
		t.records++
		if fw.RawBytes() >= t.cfg.MaxFileBytes {
			if err := t.closeFile(ctx, k); err != nil {
				return err
			}
		}
		t.watermark = max(t.watermark, r.End)
	}
	return t.closeComplete(ctx)
}

func (t *Rotator) create(ctx context.Context, k fileKey) (*FileWriter, error) {
	format, id := t.cfg.VPCFormat, t.cfg.FlowLogID
	if k.kind == flowlog.KindTGW {
		format, id = t.cfg.TGWFormat, t.cfg.TGWFlowLogID
	}
	n := t.seq[k]
	t.seq[k] = n + 1
	identity := fmt.Sprintf("%s/%s/%s/%d/%d", k.kind, k.account, k.region, k.bucket, n)
	if k.extras != "" {
		format = format.WithExtras(strings.Fields(k.extras)...)
		identity += "/" + k.extras
	}
	key := lake.Key(t.cfg.Prefix, t.cfg.Layout, k.account, k.region, id, k.bucket, identity, Ext)
	fw, err := Create(ctx, t.store, key, format, t.cfg.GzipLevel)
	if err != nil {
		return nil, err
	}
	t.open[k] = fw
	return fw, nil
}

func (t *Rotator) closeFile(ctx context.Context, k fileKey) error {
	fw := t.open[k]
	delete(t.open, k)
	if err := fw.Close(ctx); err != nil {
		return err
	}
	t.files = append(t.files, fw.Key())
	return nil
}

// closeComplete closes the files of buckets that ended Lateness before the watermark.
func (t *Rotator) closeComplete(ctx context.Context) error {
	late := int64(t.cfg.Lateness / time.Second)
	var done []fileKey
	for k := range t.open {
		if k.bucket+lake.BucketSeconds+late <= t.watermark {
			done = append(done, k)
		}
	}
	return t.closeKeys(ctx, done)
}

func (t *Rotator) closeOldest(ctx context.Context) error {
	var oldest fileKey
	first := true
	for k := range t.open {
		if first || k.bucket < oldest.bucket {
			oldest, first = k, false
		}
	}
	return t.closeFile(ctx, oldest)
}

// closeKeys closes files in a stable order so that the list of written files is too.
func (t *Rotator) closeKeys(ctx context.Context, keys []fileKey) error {
	sort.Slice(keys, func(i, j int) bool { return t.open[keys[i]].Key() < t.open[keys[j]].Key() })
	for _, k := range keys {
		if err := t.closeFile(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every open file; the rotator can still be written to afterwards.
func (t *Rotator) Close(ctx context.Context) error {
	keys := make([]fileKey, 0, len(t.open))
	for k := range t.open {
		keys = append(keys, k)
	}
	return t.closeKeys(ctx, keys)
}

// Files returns the keys of the files committed so far, in commit order (which depends on
// how the input was split into WriteRecords calls; the names do not).
func (t *Rotator) Files() []string { return t.files }

// Records is the number of records written.
func (t *Rotator) Records() int64 { return t.records }
