package logstore

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/grafana/loki/pkg/push"
	"github.com/klauspost/compress/snappy"

	"github.com/flowtap/flowtap/logstore/logql"
)

// pushBuffers are the buffers of a push request (body as read, body decompressed): a
// sink's pushes are about a MB each, and nothing of them is kept once answered (the WAL
// record is written and the head copies the lines it keeps).
var pushBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledPushBuffer = 16 << 20

func getPushBuffer() *[]byte { return pushBuffers.Get().(*[]byte) }

func putPushBuffer(b *[]byte, used []byte) {
	if cap(used) <= maxPooledPushBuffer {
		*b = used[:0]
		pushBuffers.Put(b)
	}
}

// readPushBody reads a push body into buf, undoing Content-Encoding, and refuses (413)
// anything larger than limit before or after decompression.
func readPushBody(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	var body io.Reader = io.LimitReader(r.Body, limit+1)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "gzip: %v", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, limit+1)
	case "deflate":
		zr := flate.NewReader(body)
		defer zr.Close()
		body = io.LimitReader(zr, limit+1)
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Encoding %q not supported", enc)
	}
	// Room for MinRead beyond the body, so that ReadFrom reaches EOF without growing it.
	b := bytes.NewBuffer(slices.Grow(buf[:0], int(min(max(r.ContentLength+bytes.MinRead, 4096), limit+1))))
	if _, err := b.ReadFrom(body); err != nil {
		return nil, errorf(http.StatusBadRequest, "read push body: %v", err)
	}
	if int64(b.Len()) > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body too large: limit is %d bytes", limit)
	}
	return b.Bytes(), nil
}

// isProtoPush reports whether a push of this content type is snappy-compressed protobuf:
// anything but JSON, as in Loki.
func isProtoPush(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt != "application/json"
}

// DecodePush decodes a push body as Loki does: JSON when the content type is
// application/json, otherwise (no type, application/x-protobuf, anything else)
// snappy-compressed protobuf (push.PushRequest). A body that is not what its content
// type says is refused (400), as Loki refuses it: a JSON body sent as text/plain is not
// guessed at.
func DecodePush(contentType string, body []byte, limit int64) ([]push.Stream, error) {
	streams, _, err := decodePush(contentType, body, limit, nil)
	return streams, err
}

// decodePush is DecodePush decompressing a protobuf body into buf; lines alias the
// buffer returned, which the caller may reuse once it no longer needs them.
func decodePush(contentType string, body []byte, limit int64, buf []byte) ([]push.Stream, []byte, error) {
	var streams []push.Stream
	var err error
	if isProtoPush(contentType) {
		streams, buf, err = decodeProtoPush(body, limit, buf)
	} else {
		streams, err = decodeJSONPush(body, limit)
	}
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, buf, err
		}
		return nil, buf, errorf(http.StatusBadRequest, "%v", err)
	}
	return streams, buf, nil
}

// decodeProtoPush decompresses body into buf (grown as needed) and decodes it; lines
// alias the buffer returned.
func decodeProtoPush(body []byte, limit int64, buf []byte) ([]push.Stream, []byte, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, buf, fmt.Errorf("decompress snappy: %w", err)
	}
	if int64(n) > limit {
		return nil, buf, errorf(http.StatusRequestEntityTooLarge, "request body too large: decompressed %d bytes, limit is %d bytes", n, limit)
	}
	buf = slices.Grow(buf[:0], n)[:n]
	raw, err := snappy.Decode(buf, body)
	if err != nil {
		return nil, buf, fmt.Errorf("decompress snappy: %w", err)
	}
	streams, err := decodePushRequest(raw)
	if err != nil {
		return nil, buf, fmt.Errorf("unmarshal protobuf push request: %w", err)
	}
	return streams, buf, nil
}

type jsonPush struct {
	Streams []struct {
		Stream map[string]string   `json:"stream"`
		Values [][]json.RawMessage `json:"values"`
	} `json:"streams"`
}

func decodeJSONPush(body []byte, _ int64) ([]push.Stream, error) {
	var req jsonPush
	// Unmarshal refuses trailing data too.
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("decode JSON push request: %w", err)
	}
	out := make([]push.Stream, 0, len(req.Streams))
	for i, s := range req.Streams {
		ls := make(logql.Labels, 0, len(s.Stream))
		for k, v := range s.Stream {
			ls = append(ls, logql.Label{Name: k, Value: v})
		}
		sort.Slice(ls, func(a, b int) bool { return ls[a].Name < ls[b].Name })
		ps := push.Stream{Labels: ls.String(), Entries: make([]push.Entry, 0, len(s.Values))}
		for j, v := range s.Values {
			if len(v) < 2 || len(v) > 3 {
				return nil, fmt.Errorf("streams[%d].values[%d]: want [\"<unix ns>\", \"<line>\"(, {metadata})]", i, j)
			}
			var tsStr, line string
			if err := json.Unmarshal(v[0], &tsStr); err != nil {
				return nil, fmt.Errorf("streams[%d].values[%d]: timestamp must be a string of Unix nanoseconds", i, j)
			}
			ns, err := strconv.ParseInt(tsStr, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("streams[%d].values[%d]: timestamp %q: %w", i, j, tsStr, err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				return nil, fmt.Errorf("streams[%d].values[%d]: line must be a string", i, j)
			}
			ps.Entries = append(ps.Entries, push.Entry{Timestamp: time.Unix(0, ns), Line: line})
		}
		out = append(out, ps)
	}
	return out, nil
}
