# flowtap as an NLB-fronted VPC Traffic Mirroring target.
#
#   terraform init && terraform apply -var vpc_id=… -var 'subnet_ids=[…]' -var ami_id=… \
#     -var 'source_eni_ids=["eni-…"]'
#
# Creates: an internal NLB with a UDP 4789 listener (the mirror target) whose target group is
# health-checked over TCP 8080 (UDP cannot be), an Auto Scaling group of collectors running
# `flowtap collect` under systemd, a mirror target, a filter (all traffic both ways) and one
# session per source ENI (VNI = 1000 + index, matching the sessions file rendered below).

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

provider "aws" {
  region = var.region
}

resource "aws_security_group" "collector" {
  name_prefix = "flowtap-collector-"
  vpc_id      = var.vpc_id
  ingress {
    description = "VXLAN mirror traffic"
    from_port   = 4789
    to_port     = 4789
    protocol    = "udp"
    cidr_blocks = var.mirror_source_cidrs
  }
  ingress {
    # Health checks come from the NLB's own addresses, which lie in its subnets.
    description = "NLB health checks"
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = [for s in data.aws_subnet.nlb : s.cidr_block]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

data "aws_subnet" "nlb" {
  for_each = toset(var.subnet_ids)
  id       = each.value
}

resource "aws_lb" "mirror" {
  name                             = "flowtap-mirror"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.subnet_ids
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "vxlan" {
  name        = "flowtap-vxlan"
  port        = 4789
  protocol    = "UDP"
  vpc_id      = var.vpc_id
  target_type = "instance"
  health_check {
    protocol            = "HTTP"
    port                = "8080"
    path                = "/healthz"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "vxlan" {
  load_balancer_arn = aws_lb.mirror.arn
  port              = 4789
  protocol          = "UDP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.vxlan.arn
  }
}

resource "aws_launch_template" "collector" {
  name_prefix            = "flowtap-collector-"
  image_id               = var.ami_id
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.collector.id]
  # The binary is a pinned release checked against its SHA-256; the systemd unit is the
  # one in this repository, rendered into user_data (nothing is fetched from a branch).
  user_data = base64encode(templatefile("${path.module}/user_data.sh.tftpl", {
    flowtap_url    = local.flowtap_url
    flowtap_sha256 = var.flowtap_sha256
    kafka_brokers  = join(",", var.kafka_brokers)
    sessions_yaml  = local.sessions_yaml
    collect_unit   = file("${path.module}/../systemd/flowtap-collect.service")
    sysctl_conf    = file("${path.module}/../systemd/sysctl-flowtap.conf")
  }))
}

resource "aws_autoscaling_group" "collector" {
  name_prefix         = "flowtap-collector-"
  min_size            = var.collector_count
  max_size            = var.collector_count * 2
  desired_capacity    = var.collector_count
  vpc_zone_identifier = var.subnet_ids
  target_group_arns   = [aws_lb_target_group.vxlan.arn]
  health_check_type   = "ELB"
  launch_template {
    id      = aws_launch_template.collector.id
    version = "$Latest"
  }
}

resource "aws_ec2_traffic_mirror_target" "nlb" {
  description               = "flowtap collectors"
  network_load_balancer_arn = aws_lb.mirror.arn
}

resource "aws_ec2_traffic_mirror_filter" "all" {
  description = "flowtap: all traffic"
}

resource "aws_ec2_traffic_mirror_filter_rule" "ingress" {
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.all.id
  traffic_direction        = "ingress"
  rule_number              = 100
  rule_action              = "accept"
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
}

resource "aws_ec2_traffic_mirror_filter_rule" "egress" {
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.all.id
  traffic_direction        = "egress"
  rule_number              = 100
  rule_action              = "accept"
  source_cidr_block        = "0.0.0.0/0"
  destination_cidr_block   = "0.0.0.0/0"
}

resource "aws_ec2_traffic_mirror_session" "source" {
  count                    = length(var.source_eni_ids)
  description              = "flowtap session for ${var.source_eni_ids[count.index]}"
  network_interface_id     = var.source_eni_ids[count.index]
  traffic_mirror_target_id = aws_ec2_traffic_mirror_target.nlb.id
  traffic_mirror_filter_id = aws_ec2_traffic_mirror_filter.all.id
  session_number           = 1
  virtual_network_id       = 1000 + count.index
  packet_length            = var.packet_length
}

data "aws_network_interface" "source" {
  count = length(var.source_eni_ids)
  id    = var.source_eni_ids[count.index]
}

data "aws_caller_identity" "current" {}

data "aws_subnet" "source" {
  count = length(var.source_eni_ids)
  id    = data.aws_network_interface.source[count.index].subnet_id
}

locals {
  flowtap_url = coalesce(var.flowtap_download_url,
  "https://github.com/flowtap/flowtap/releases/download/${var.flowtap_version}/flowtap-linux-${var.architecture}")

  # The collector's sessions file: VNI -> the source ENI's metadata.
  sessions_yaml = yamlencode({
    sessions = [for i, eni in data.aws_network_interface.source : {
      vni          = 1000 + i
      account-id   = data.aws_caller_identity.current.account_id
      interface-id = eni.id
      vpc-id       = eni.vpc_id
      subnet-id    = eni.subnet_id
      instance-id  = try(eni.attachment[0].instance_id, "-")
      region       = var.region
      az-id        = data.aws_subnet.source[i].availability_zone_id
      ips          = eni.private_ips
    }]
  })
}

output "mirror_target_id" {
  value = aws_ec2_traffic_mirror_target.nlb.id
}

output "nlb_dns_name" {
  value = aws_lb.mirror.dns_name
}
