variable "region" {
  type    = string
  default = "us-east-1"
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets for the NLB and the collectors (one per AZ)."
}

variable "ami_id" {
  type        = string
  description = "An Amazon Linux 2023 or Debian 12 AMI for the collectors (release builds need glibc 2.34 or newer)."
}

variable "architecture" {
  type        = string
  description = "CPU architecture of ami_id and instance_type: amd64 or arm64."
  default     = "amd64"
  validation {
    condition     = contains(["amd64", "arm64"], var.architecture)
    error_message = "architecture must be amd64 or arm64."
  }
}

variable "instance_type" {
  type    = string
  default = "c6in.large"
}

variable "collector_count" {
  type    = number
  default = 2
}

variable "mirror_source_cidrs" {
  type    = list(string)
  default = ["10.0.0.0/8"]
}

variable "source_eni_ids" {
  type        = list(string)
  description = "ENIs to mirror (at most 3 sessions per source ENI)."
  default     = []
}

variable "packet_length" {
  type        = number
  description = "Bytes mirrored per packet (1-8500); null mirrors whole packets."
  default     = null
}

variable "kafka_brokers" {
  type = list(string)
}

variable "flowtap_version" {
  type        = string
  description = "flowtap release to install, e.g. v1.2.0 (a tag; `make release VERSION=…` builds it)."
  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+", var.flowtap_version))
    error_message = "flowtap_version must be a release tag such as v1.2.0, not a branch."
  }
}

variable "flowtap_sha256" {
  type        = string
  description = "SHA-256 of that release's flowtap-linux-<architecture> (its .sha256 file); instances refuse any other binary."
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.flowtap_sha256))
    error_message = "flowtap_sha256 must be 64 lower-case hex digits."
  }
}

variable "flowtap_download_url" {
  type        = string
  description = "Where instances fetch the binary (e.g. an S3 mirror); null = the GitHub release of flowtap_version."
  default     = null
}
