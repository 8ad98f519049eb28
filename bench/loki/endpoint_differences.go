package main

// knownEndpointDifferences are the endpoint and tail cases (endpointCase.Name, "tail " +
// tailCase.Name) on which flowtap answers differently from Grafana Loki 3.5 on purpose,
// each with the reason. TestEndpointGolden fails on any other difference.
var knownEndpointDifferences = map[string]string{
	"drilldown-limits":                                 noDrilldownLimits,
	"volume half hour":                                 volumeProrated,
	"volume_range {app=~\".+\"}":                       volumeProrated,
	"volume_range {app=\"api\"}":                       volumeProrated,
	"volume_range {app=\"api\", env=\"prod\"}":         volumeProrated,
	"volume_range {app=~\"api|web\", env=~\".+\"}":     volumeProrated,
	"volume_range {app=\"missing\"}":                   volumeVector,
	"volume_range {env=\"dev\"}":                       volumeProrated,
	"volume_range targetLabels=env":                    volumeProrated,
	"volume_range targetLabels=app,env":                volumeProrated,
	"volume_range aggregateBy=labels all":              volumeProrated,
	"volume_range aggregateBy=labels api":              volumeProrated,
	"volume_range aggregateBy=labels targetLabels=env": volumeProrated,
	"volume_range aggregateBy=series":                  volumeProrated,
	"volume_range limit=2":                             volumeProrated,
	"volume_range {}":                                  volumeProrated,
	"volume_range half hour":                           volumeProrated,
	"volume_range step=900 labels":                     volumeProrated,
	"volume_range step=1h":                             volumeVector,
	"volume_range step=1h targetLabels=region":         volumeVector,
	"detected_labels {app=\"missing\"}":                emptyObject,
	"detected_fields {app=\"vpc\"}":                    emptyObject,
	"detected_fields {app=\"nginx\"}":                  emptyObject,
	"detected_fields {app=\"missing\"}":                emptyObject,
	"detected_field nosuch {app=\"api\"}":              emptyObject,
	"tail metric query":                                tailMetric,
}

const (
	noDrilldownLimits = "Loki 3.5 has no drilldown-limits endpoint (404; it came with Loki 3.6); Logs Drilldown " +
		"asks for it, so flowtap answers with the shape of later Loki versions: {limits, pattern_ingester_enabled, version}, " +
		"the limits being the fields Loki publishes there by default (less otlp_config: the store takes no OTLP)"
	volumeProrated = "Loki computes volumes from its index, which holds byte counts per chunk: a chunk's bytes are " +
		"spread over the steps (or the part of the range) its time span overlaps in proportion to the overlap, so with one " +
		"chunk per stream every step shows the same share and the sum loses the rounding; flowtap counts each line's bytes " +
		"in the step it falls in, the volume the HTTP API documentation describes. Step times, series and totals agree"
	volumeVector = "Loki answers volume_range with resultType vector when no series has more than one step (a single " +
		"step, or no data); the HTTP API documentation gives volume_range a matrix, which flowtap always answers"
	emptyObject = "with nothing detected Loki answers an empty JSON object {} (its protobuf response with empty " +
		"fields left out); the documented answer has its keys, so flowtap answers {\"fields\":[],\"limit\":N}, " +
		"{\"values\":[],\"limit\":N} or {\"detectedLabels\":[]}"
	tailMetric = "Loki upgrades a tail of a metric query to a websocket and then closes it with an internal-error " +
		"frame; every other invalid tail query it refuses with 400 before the upgrade, as flowtap does this one " +
		"(400: tail only supports log queries)"
)
