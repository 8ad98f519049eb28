package flowlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"strings"
	"time"
)

// Reader reads every shape in which AWS hands out flow logs and VPN logs, plain or gzip
// (detected by its magic bytes, including several concatenated gzip members):
//   - S3 text: lines in a format, with or without header lines. A header line sets the
//     format for the lines after it, so concatenated S3 files each with a header read
//     correctly. Blank lines are skipped; CRLF is tolerated.
//   - CloudWatch Logs exports to S3: each line prefixed by the event's RFC 3339 timestamp.
//   - CloudWatch Logs subscription payloads (JSON objects with messageType, logGroup,
//     logStream and logEvents, one after another): CONTROL_MESSAGEs are skipped.
//
// Flow lines without a header or given format are read in AWS's default VPC or TGW format
// when their field count matches one. Messages that are JSON objects are VPN log events
// (Site-to-Site tunnel or BGP, Client VPN), returned by Next as events.
type Reader struct {
	name   string
	br     *bufio.Reader
	format *Format
	fixed  bool // the format was given by the caller; header lines are only skipped
	line   int
	buf    []byte
	raw    []byte

	// Subscription payload mode.
	dec      *json.Decoder
	payloads int
	payload  SubscriptionPayload
	event    int // next index into payload.LogEvents
	controls int
}

// ErrRead is wrapped by Next's errors that end the input (a corrupt gzip stream, an I/O
// error); other errors concern one line or event, and reading can go on.
var ErrRead = errors.New("read error")

// Item describes what Next read: a flow record (Event == "") or a VPN log event.
type Item struct {
	Event  string // "", or VPNTunnel, VPNBGP, ClientVPN
	Data   []byte // the event's JSON, for events
	Format *Format
	// Time is the CloudWatch event time (export lines and subscription payloads); zero for
	// S3 text.
	Time time.Time
	// LogGroup, LogStream and Owner come from a subscription payload.
	LogGroup, LogStream, Owner string
}

// NewReader reads from r. If format is nil, header lines (or AWS's default formats) give
// it. name is used in error messages (a file name, or "stdin").
func NewReader(r io.Reader, name string, format *Format) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	rd := &Reader{name: name, br: br, format: format, fixed: format != nil}
	if firstByte(br) == '{' {
		rd.dec = json.NewDecoder(br)
	}
	return rd, nil
}

// firstByte returns the first byte that is not white space, without consuming input.
func firstByte(br *bufio.Reader) byte {
	for n := 1; n <= 4096; n *= 2 {
		b, err := br.Peek(n)
		for _, c := range b {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return c
			}
		}
		if err != nil {
			return 0
		}
	}
	return 0
}

// Format is the format in effect (nil before a header was read when none was given).
func (rd *Reader) Format() *Format { return rd.format }

// Text is the flow line of the record read last, exactly as in the input (for export lines,
// without the timestamp; a "\r" before the newline included, the newline excluded). It is
// valid until the next Read.
func (rd *Reader) Text() []byte { return rd.raw }

// Line is the number of the line read last (for subscription payloads, the number of the
// payload).
func (rd *Reader) Line() int {
	if rd.dec != nil {
		return rd.payloads
	}
	return rd.line
}

// ControlMessages is the number of CONTROL_MESSAGE payloads skipped.
func (rd *Reader) ControlMessages() int { return rd.controls }

// Read parses the next flow record into rec; it returns io.EOF at the end. A VPN log event
// is an error here (use Next). Errors name the input and line number and wrap the
// ParseError.
func (rd *Reader) Read(rec *Record) error {
	it, err := rd.Next(rec)
	if err == nil && it.Event != "" {
		return fmt.Errorf("%s:%d: a %s log event, not a flow record", rd.name, rd.Line(), it.Event)
	}
	return err
}

// Next reads the next flow record into rec, or the next VPN log event, and describes it; it
// returns io.EOF at the end. After an error the reader goes on with the next line or event.
func (rd *Reader) Next(rec *Record) (Item, error) {
	if rd.dec != nil {
		return rd.nextEvent(rec)
	}
	for {
		raw, err := rd.readLine()
		if err != nil {
			return Item{}, err
		}
		line := bytes.TrimRight(raw, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var it Item
		// One copy of the line as a string, for every check and the parse: the record keeps
		// substrings of it, and a copy per check was most of the reader's allocation.
		text := string(line)
		if t, msg, ok := CutExportTimestamp(text); ok {
			it.Time = t
			cut := len(line) - len(msg)
			raw, line, text = raw[cut:], line[cut:], msg
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
		}
		rd.raw = raw
		if line[0] == '{' {
			return rd.vpnEvent(it, line, rd.line)
		}
		if IsHeader(text) {
			if rd.fixed {
				continue
			}
			f, err := FormatFromHeader(text)
			if err != nil {
				return Item{}, fmt.Errorf("%s:%d: %w", rd.name, rd.line, err)
			}
			rd.format = f
			continue
		}
		format := rd.format
		if format == nil {
			if format = GuessFormat(text); format == nil {
				return Item{}, fmt.Errorf("%s:%d: no header line and no --format given", rd.name, rd.line)
			}
		}
		it.Format = format
		if err := format.Parse(rec, text); err != nil {
			return Item{}, fmt.Errorf("%s:%d: %w", rd.name, rd.line, err)
		}
		return it, nil
	}
}

func (rd *Reader) vpnEvent(it Item, msg []byte, pos int) (Item, error) {
	kind, err := ClassifyVPNEvent(msg)
	if err != nil {
		return Item{}, fmt.Errorf("%s:%d: %w", rd.name, pos, err)
	}
	it.Event, it.Data = kind, bytes.Clone(msg)
	return it, nil
}

// nextEvent walks the log events of subscription payloads.
func (rd *Reader) nextEvent(rec *Record) (Item, error) {
	for rd.event >= len(rd.payload.LogEvents) {
		rd.payload = SubscriptionPayload{}
		rd.event = 0
		var obj json.RawMessage
		err := rd.dec.Decode(&obj)
		if err == io.EOF {
			return Item{}, io.EOF
		}
		rd.payloads++
		if err != nil {
			// The JSON stream cannot be resynchronised after a syntax error.
			rd.dec = json.NewDecoder(strings.NewReader(""))
			return Item{}, fmt.Errorf("%s: payload %d: %w: %v", rd.name, rd.payloads, ErrSubscription, err)
		}
		if !bytes.Contains(obj, []byte(`"messageType"`)) {
			// Not a payload: a VPN log event on its own (one JSON object per line).
			return rd.vpnEvent(Item{}, obj, rd.payloads)
		}
		if err := json.Unmarshal(obj, &rd.payload); err != nil {
			return Item{}, fmt.Errorf("%s: payload %d: %w: %v", rd.name, rd.payloads, ErrSubscription, err)
		}
		if err := rd.payload.check(); err != nil {
			bad := rd.payloads
			rd.payload = SubscriptionPayload{}
			return Item{}, fmt.Errorf("%s: payload %d: %w: %v", rd.name, bad, ErrSubscription, err)
		}
		if rd.payload.MessageType == MessageControl {
			rd.controls++
			rd.payload.LogEvents = nil
		}
	}
	p := &rd.payload
	ev := &p.LogEvents[rd.event]
	rd.event++
	it := Item{LogGroup: p.LogGroup, LogStream: p.LogStream, Owner: p.Owner, Time: time.UnixMilli(ev.Timestamp).UTC()}
	msg := strings.TrimRight(ev.Message, "\r\n")
	rd.raw = []byte(msg)
	if strings.HasPrefix(strings.TrimSpace(msg), "{") {
		return rd.vpnEvent(it, []byte(strings.TrimSpace(msg)), rd.payloads)
	}
	format := rd.format
	if format == nil {
		if format = GuessFormat(msg); format == nil {
			return Item{}, fmt.Errorf("%s: payload %d event %d: flow log line with %d fields: not a default format; give --format",
				rd.name, rd.payloads, rd.event, strings.Count(msg, " ")+1)
		}
	}
	it.Format = format
	if err := format.Parse(rec, msg); err != nil {
		return Item{}, fmt.Errorf("%s: payload %d event %d: %w", rd.name, rd.payloads, rd.event, err)
	}
	return it, nil
}

func (rd *Reader) readLine() ([]byte, error) {
	rd.buf = rd.buf[:0]
	for {
		chunk, err := rd.br.ReadSlice('\n')
		rd.buf = append(rd.buf, chunk...)
		switch {
		case err == nil:
			rd.line++
			return rd.buf[:len(rd.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(rd.buf) > 1<<20 {
				return nil, fmt.Errorf("%s:%d: line longer than 1 MiB", rd.name, rd.line+1)
			}
			continue
		case errors.Is(err, io.EOF):
			if len(rd.buf) > 0 {
				rd.line++
				return rd.buf, nil // no final newline: tolerated
			}
			return nil, io.EOF
		default:
			return nil, fmt.Errorf("%s: %w: %w", rd.name, ErrRead, err)
		}
	}
}
