// Package flowlog is flowtap's record model and the AWS log formats.
//
// A Record is one VPC or Transit Gateway flow log record as a compact typed struct
// (netip.Addr, integers, small enums). The field registry (Field, FieldInfo) lists every
// field AWS documents with its name, version, Parquet type and kind; a Format is an ordered
// list of fields, parsed from a LogFormat string ("${version} ${srcaddr} …"), from a list
// of names, or from the header line of an S3 text file.
//
// Codecs:
//   - text, exactly as AWS writes it: single spaces, "-" for absent values (in any field),
//     RFC 5952 IPv6, version = the highest version of the format's fields
//     (Format.AppendText, Format.Parse);
//   - JSON: a lossless object of present fields keyed by AWS names (AppendJSON, ParseJSON;
//     the Kafka message encoding), and a per-format object with nulls (Format.AppendJSON);
//   - the CloudWatch Logs event shape (CloudWatchEvent);
//   - Site-to-Site VPN tunnel and BGP logs and Client VPN connection logs (vpn.go).
//
// Parsing is tolerant where AWS output varies (reference §7): "-" anywhere, start/end in
// milliseconds (values above 2^31-1 are divided by 1000), CRLF line ends, unknown columns in
// a file header. It is strict elsewhere: a wrong field count or a bad value is a ParseError
// naming the column and field; an unknown field in a format is a FormatError naming the
// token and the nearest valid field.
//
// Budget: text encode ≥ 5 M records/s/core with 0 allocations per record; parse ≥ 2 M
// lines/s/core (one allocation per line when the input is a reused []byte, none for a
// string). See codec_bench_test.go.
package flowlog
