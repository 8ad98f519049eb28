package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/flowtap/flowtap/flowlog"
	"github.com/spf13/cobra"
)

func newConvertCmd() *cobra.Command {
	var (
		inFormat, outFormat string
		asJSON, header      bool
		skipBad             bool
	)
	cmd := &cobra.Command{
		Use:   "convert [FILE…]",
		Short: "Reshape AWS flow log text into another format or JSON",
		Long: `convert reads VPC or Transit Gateway flow logs (files or stdin; gzip or plain) and
writes them in another custom format or as JSON objects, one per line. Inputs may be:
  - S3 text files, with header lines (as AWS writes them) or without;
  - CloudWatch Logs exports to S3 (each line prefixed by its RFC 3339 timestamp);
  - CloudWatch Logs subscription payloads (JSON with messageType, logGroup, logStream and
    logEvents, one or several, gzip or not); CONTROL_MESSAGEs are skipped.
VPN log groups (Site-to-Site tunnel and BGP, Client VPN) hold JSON events: they are written
as AWS's JSON objects whatever the output shape.

The input format comes from --format, or from each file's header line, or for headerless
lines from the field count (AWS's default VPC or TGW format). Columns this build does not
know (newer AWS fields) are carried under their own names. The output format is --to-format
(a LogFormat string "${a} ${b}" or bare names), or the input format; when it equals the
input format every line is written byte for byte as read. A new format gets its version
recomputed, as AWS would.

  flowtap convert --to-format '${srcaddr} ${dstaddr} ${bytes}' 123_vpcflowlogs_….log.gz
  zcat flows.log.gz | flowtap convert --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var in, out *flowlog.Format
			var err error
			if inFormat != "" {
				if in, err = flowlog.ParseFormat(inFormat); err != nil {
					return fmt.Errorf("--format: %w", err)
				}
			}
			if outFormat != "" {
				if out, err = flowlog.ParseFormat(outFormat); err != nil {
					return fmt.Errorf("--to-format: %w", err)
				}
			}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			c := converter{out: out, json: asJSON, header: header, skipBad: skipBad, w: w}
			if len(args) == 0 {
				err = c.convert(cmd.InOrStdin(), "stdin", in)
			}
			for _, path := range args {
				if err != nil {
					break
				}
				err = c.convertFile(path, in)
			}
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if c.bad > 0 {
				slog.Warn("skipped bad lines", "count", c.bad)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&inFormat, "format", "", "input format (default: each file's header line)")
	f.StringVar(&outFormat, "to-format", "", "output format (default: the input format)")
	f.BoolVar(&asJSON, "json", false, "write JSON objects (AWS field names as keys, null for '-')")
	f.BoolVar(&header, "header", false, "write a header line before text output, as in AWS's S3 files")
	f.BoolVar(&skipBad, "skip-bad", false, "skip and count lines that do not parse instead of stopping")
	return cmd
}

type converter struct {
	out          *flowlog.Format
	json, header bool
	skipBad      bool
	w            *bufio.Writer
	wroteHeader  bool
	bad          int
	buf          []byte
}

func (c *converter) convertFile(path string, in *flowlog.Format) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return c.convert(fh, path, in)
}

func (c *converter) convert(r io.Reader, name string, in *flowlog.Format) error {
	rd, err := flowlog.NewReader(r, name, in)
	if err != nil {
		return err
	}
	var rec flowlog.Record
	for {
		it, err := rd.Next(&rec)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if c.skipBad {
				c.bad++
				slog.Debug("bad line", "err", err)
				continue
			}
			return err
		}
		if it.Event != "" {
			// A VPN log event is AWS's JSON object in every output shape.
			c.buf = append(append(c.buf[:0], it.Data...), '\n')
			if _, err := c.w.Write(c.buf); err != nil {
				return err
			}
			continue
		}
		out, same := c.out, true
		if out == nil {
			out = it.Format
		} else if !out.Equal(it.Format) {
			same = false
			rec.Version = 0 // a new format gets its own version
		}
		if c.header && !c.json && !c.wroteHeader {
			c.w.WriteString(out.Header())
			c.w.WriteByte('\n')
			c.wroteHeader = true
		}
		switch {
		case c.json:
			c.buf = out.AppendJSON(c.buf[:0], &rec)
		case same:
			// The same format keeps every byte of the line as written.
			c.buf = append(c.buf[:0], rd.Text()...)
		default:
			c.buf = out.AppendText(c.buf[:0], &rec)
		}
		c.buf = append(c.buf, '\n')
		if _, err := c.w.Write(c.buf); err != nil {
			return err
		}
	}
}
