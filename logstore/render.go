package logstore

import (
	"math"
	"strconv"

	"github.com/flowtap/flowtap/internal/jsonstr"
	"github.com/flowtap/flowtap/logstore/logql"
)

// appendLabelsObject renders labels as {"name":"value",...}.
func appendLabelsObject(dst []byte, ls logql.Labels) []byte {
	dst = append(dst, '{')
	for i, l := range ls {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, l.Name)
		dst = append(dst, ':')
		dst = jsonstr.Append(dst, l.Value)
	}
	return append(dst, '}')
}

// appendUnixSeconds renders a millisecond timestamp as Prometheus does: seconds, with up
// to three decimals and no trailing zeros (1700000000, 1700000000.5).
func appendUnixSeconds(dst []byte, ms int64) []byte {
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec--
		frac += 1000
	}
	dst = strconv.AppendInt(dst, sec, 10)
	if frac == 0 {
		return dst
	}
	digits := []byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	return append(dst, digits...)
}

// appendSampleValue renders a sample value as a JSON string the way Prometheus does.
func appendSampleValue(dst []byte, v float64) []byte {
	dst = append(dst, '"')
	switch {
	case math.IsNaN(v):
		dst = append(dst, "NaN"...)
	case math.IsInf(v, 1):
		dst = append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		dst = append(dst, "-Inf"...)
	default:
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	}
	return append(dst, '"')
}

func appendPoint(dst []byte, t int64, v float64) []byte {
	dst = append(dst, '[')
	dst = appendUnixSeconds(dst, t)
	dst = append(dst, ',')
	dst = appendSampleValue(dst, v)
	return append(dst, ']')
}

// appendSeriesStart opens a stream or matrix series: {"<key>":{labels},"values":
func appendSeriesStart(dst []byte, key string, ls logql.Labels) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	dst = appendLabelsObject(dst, ls)
	return append(dst, `,"values":`...)
}

// appendArray writes items as a JSON array, each with appendItem.
func appendArray[T any](dst []byte, items []T, appendItem func([]byte, *T) []byte) []byte {
	dst = append(dst, '[')
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendItem(dst, &items[i])
	}
	return append(dst, ']')
}

// appendEntryJSON writes a log entry as Loki does: ["<unix ns>","<line>"].
func appendEntryJSON(dst []byte, ts int64, line string) []byte {
	dst = append(dst, `["`...)
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `",`...)
	dst = jsonstr.Append(dst, line)
	return append(dst, ']')
}

// renderResult writes Loki's query response envelope:
// {"status":"success","data":{"resultType":...,"result":...,"stats":{...}}}.
func renderResult(dst []byte, res *logql.Result) []byte {
	dst = append(dst, `{"status":"success","data":{"resultType":`...)
	dst = jsonstr.Append(dst, res.Type)
	dst = append(dst, `,"result":`...)
	switch res.Type {
	case logql.ResultStreams:
		dst = appendArray(dst, res.Streams, func(dst []byte, s *logql.Stream) []byte {
			dst = appendSeriesStart(dst, "stream", s.Labels)
			dst = appendArray(dst, s.Entries, func(dst []byte, e *logql.Entry) []byte {
				return appendEntryJSON(dst, e.Timestamp, e.Line)
			})
			return append(dst, '}')
		})
	case logql.ResultMatrix:
		dst = appendArray(dst, res.Matrix, func(dst []byte, s *logql.Series) []byte {
			dst = appendSeriesStart(dst, "metric", s.Labels)
			dst = appendArray(dst, s.Points, func(dst []byte, p *logql.Point) []byte { return appendPoint(dst, p.T, p.V) })
			return append(dst, '}')
		})
	case logql.ResultVector:
		dst = appendArray(dst, res.Vector, func(dst []byte, s *logql.Sample) []byte {
			dst = append(dst, `{"metric":`...)
			dst = appendLabelsObject(dst, s.Labels)
			dst = append(dst, `,"value":`...)
			dst = appendPoint(dst, s.T, s.V)
			return append(dst, '}')
		})
	case logql.ResultScalar:
		if res.Scalar != nil {
			dst = appendPoint(dst, res.Scalar.T, res.Scalar.V)
		} else {
			dst = append(dst, "null"...)
		}
	default:
		dst = append(dst, "[]"...)
	}
	dst = append(dst, `,"stats":`...)
	dst = appendStats(dst, res.Stats)
	return append(dst, "}}"...)
}

// appendStats renders Loki's stats object with Loki 3.5's keys: the summary Grafana
// reads with this store's counters, and the querier, ingester, cache and index sections,
// whose counters a single-process store without caches or shards mostly does not have.
func appendStats(dst []byte, st logql.Stats) []byte {
	i := func(name string, v int64) {
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendInt(dst, v, 10)
	}
	dst = append(dst, `{"summary":{`...)
	i("bytesProcessedPerSecond", st.BytesProcessedPerSecond())
	dst = append(dst, ',')
	i("linesProcessedPerSecond", st.LinesProcessedPerSecond())
	dst = append(dst, ',')
	i("totalBytesProcessed", st.TotalBytesProcessed)
	dst = append(dst, ',')
	i("totalLinesProcessed", st.TotalLinesProcessed)
	dst = append(dst, `,"execTime":`...)
	dst = strconv.AppendFloat(dst, st.ExecTime.Seconds(), 'f', -1, 64)
	dst = append(dst, `,"queueTime":0,"subqueries":0,`...)
	i("totalEntriesReturned", st.TotalEntriesReturned)
	dst = append(dst, `,"splits":0,"shards":0,`...)
	i("totalPostFilterLines", st.TotalPostFilterLines)
	dst = append(dst, `,"totalStructuredMetadataBytesProcessed":0},"querier":{"store":`...)
	dst = appendStoreStats(dst, st.TotalBytesProcessed, st.TotalLinesProcessed, st.TotalPostFilterLines)
	dst = append(dst, `},"ingester":{"totalReached":0,"totalChunksMatched":0,"totalBatches":0,"totalLinesSent":0,"store":`...)
	dst = appendStoreStats(dst, 0, 0, 0)
	dst = append(dst, `},"cache":{`...)
	for n, c := range []string{"chunk", "index", "result", "statsResult", "volumeResult", "seriesResult", "labelResult", "instantMetricResult"} {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, c...)
		dst = append(dst, `":{"entriesFound":0,"entriesRequested":0,"entriesStored":0,"bytesReceived":0,"bytesSent":0,"requests":0,"downloadTime":0,"queryLengthServed":0}`...)
	}
	dst = append(dst, `},"index":{"totalChunks":0,"postFilterChunks":0,"shardsDuration":0,"usedBloomFilters":false}}`...)
	return dst
}

// appendStoreStats renders the store section of the querier or ingester stats.
func appendStoreStats(dst []byte, bytes, lines, postFilter int64) []byte {
	dst = append(dst, `{"totalChunksRef":0,"totalChunksDownloaded":0,"chunksDownloadTime":0,"queryReferencedStructuredMetadata":false,"chunk":{"headChunkBytes":0,"headChunkLines":0,"decompressedBytes":`...)
	dst = strconv.AppendInt(dst, bytes, 10)
	dst = append(dst, `,"decompressedLines":`...)
	dst = strconv.AppendInt(dst, lines, 10)
	dst = append(dst, `,"compressedBytes":0,"totalDuplicates":0,"postFilterLines":`...)
	dst = strconv.AppendInt(dst, postFilter, 10)
	return append(dst, `,"headChunkStructuredMetadataBytes":0,"decompressedStructuredMetadataBytes":0},"chunkRefsFetchTime":0,"congestionControlLatency":0,"pipelineWrapperFilteredLines":0}`...)
}
