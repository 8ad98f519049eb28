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
  description = "A Debian or Amazon Linux AMI for the collectors."
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

variable "flowtap_download_url" {
  type        = string
  description = "Where instances fetch the flowtap binary."
}
