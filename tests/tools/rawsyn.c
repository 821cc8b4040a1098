// SPDX-License-Identifier: GPL-2.0-only
/*
 * rawsyn: send one TCP SYN as a task with CAP_NET_RAW can, through a packet socket (so that no
 * netfilter hook of the sender's namespace sees it, neither on the way out nor the answer on the
 * way in), with any source address, and say what came back: "syn-ack", "rst" or "none".
 *
 *   rawsyn --ifname IF --dst-mac MAC --src ADDR --dst ADDR:PORT [--timeout-ms MS]
 *
 * IPv4 only. The answer is looked for on the same interface until the timeout (default 1000 ms).
 * Exit status 0 when the probe was made (whatever the answer), 2 on errors.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "addr.h"
#include "util.h"

struct probe {
	uint8_t src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	struct in_addr src, dst;
	uint16_t sport, dport; /* host order */
	uint32_t seq;
};

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Ethernet + IPv4 + TCP SYN with an MSS option; returns the frame's length. */
static size_t build_syn(const struct probe *p, uint8_t *buf)
{
	struct ether_header *eth = (struct ether_header *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
	uint8_t *opt = (uint8_t *)(tcp + 1);
	const size_t tcplen = sizeof(*tcp) + 4;
	struct {
		struct in_addr src, dst;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) pseudo = { p->src, p->dst, 0, IPPROTO_TCP, htons(tcplen) };
	uint16_t id;

	memcpy(eth->ether_dhost, p->dst_mac, ETH_ALEN);
	memcpy(eth->ether_shost, p->src_mac, ETH_ALEN);
	eth->ether_type = htons(ETHERTYPE_IP);

	(void)getrandom(&id, sizeof(id), 0);
	*ip = (struct iphdr){ .version = 4,
			      .ihl = 5,
			      .tot_len = htons(sizeof(*ip) + tcplen),
			      .id = id,
			      .frag_off = htons(IP_DF),
			      .ttl = 64,
			      .protocol = IPPROTO_TCP,
			      .saddr = p->src.s_addr,
			      .daddr = p->dst.s_addr };
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));

	*tcp = (struct tcphdr){ .source = htons(p->sport),
				.dest = htons(p->dport),
				.seq = htonl(p->seq),
				.doff = (uint16_t)(tcplen / 4),
				.syn = 1,
				.window = htons(65535) };
	opt[0] = 2; /* MSS */
	opt[1] = 4;
	opt[2] = 1460 >> 8;
	opt[3] = 1460 & 0xff;
	tcp->check = htons(csum_fold(csum_add(csum_add(0, &pseudo, sizeof(pseudo)), tcp, tcplen)));
	return sizeof(*eth) + sizeof(*ip) + tcplen;
}

/* "syn-ack", "rst" or NULL for a frame that is not the answer to the probe. */
static const char *answer(const struct probe *p, const uint8_t *buf, size_t len)
{
	const struct ether_header *eth = (const struct ether_header *)buf;
	const struct iphdr *ip = (const struct iphdr *)(eth + 1);
	const struct tcphdr *tcp;

	if (len < sizeof(*eth) + sizeof(*ip) || ntohs(eth->ether_type) != ETHERTYPE_IP ||
	    ip->version != 4 || ip->protocol != IPPROTO_TCP || ip->saddr != p->dst.s_addr ||
	    ip->daddr != p->src.s_addr || len < sizeof(*eth) + ip->ihl * 4u + sizeof(*tcp))
		return NULL;
	tcp = (const struct tcphdr *)((const uint8_t *)ip + ip->ihl * 4u);
	if (ntohs(tcp->source) != p->dport || ntohs(tcp->dest) != p->sport)
		return NULL;
	if (tcp->rst)
		return "rst";
	if (tcp->syn && tcp->ack && ntohl(tcp->ack_seq) == p->seq + 1)
		return "syn-ack";
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: rawsyn --ifname IF --dst-mac MAC --src ADDR --dst ADDR:PORT "
		   "[--timeout-ms MS]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *ifname = NULL, *mac = NULL, *src = NULL, *dst = NULL, *result = "none";
	struct sockaddr_storage ss;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	struct probe p = {};
	struct in_prefix a;
	struct ifreq ifr = {};
	unsigned long timeout_ms = 1000;
	uint8_t frame[128];
	uint64_t deadline;
	_cleanup_close_ int fd = -1;
	socklen_t sslen;
	size_t len;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'm':
			mac = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 't':
			errno = 0;
			timeout_ms = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || timeout_ms > 60000) {
				fprintf(stderr, "rawsyn: invalid --timeout-ms '%s' (0..60000)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!ifname || !mac || !src || !dst || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (strlen(ifname) >= IFNAMSIZ || addr_mac_parse(mac, p.dst_mac) < 0 ||
	    addr_ip_parse(src, AF_INET, &a) < 0 ||
	    addr_sockaddr_parse(dst, true, &ss, &sslen) < 0 || ss.ss_family != AF_INET) {
		fprintf(stderr, "rawsyn: invalid --ifname, --dst-mac, --src or --dst (IPv4)\n");
		return 2;
	}
	p.src = a.u.v4;
	p.dst = ((struct sockaddr_in *)&ss)->sin_addr;
	p.dport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	(void)getrandom(&p.seq, sizeof(p.seq), 0);
	(void)getrandom(&p.sport, sizeof(p.sport), 0);
	p.sport = (uint16_t)(40000 + p.sport % 20000);

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0) {
		fprintf(stderr, "rawsyn: packet socket: %m\n");
		return 2;
	}
	strscpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0 || (sll.sll_ifindex = ifr.ifr_ifindex) <= 0 ||
	    ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "rawsyn: interface '%s': %m\n", ifname);
		return 2;
	}
	memcpy(p.src_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "rawsyn: bind to '%s': %m\n", ifname);
		return 2;
	}

	len = build_syn(&p, frame);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, p.dst_mac, ETH_ALEN);
	if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)len) {
		fprintf(stderr, "rawsyn: send: %m\n");
		return 2;
	}

	deadline = now_usec() + timeout_ms * 1000;
	for (;;) {
		uint64_t now = now_usec();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		uint8_t buf[2048];
		const char *r;
		ssize_t n;

		if (now >= deadline)
			break;
		n = poll(&pfd, 1, (int)((deadline - now + 999) / 1000));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rawsyn: poll: %m\n");
			return 2;
		}
		if (n <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &fromlen);
		if (n < 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		r = answer(&p, buf, (size_t)n);
		if (r) {
			result = r;
			break;
		}
	}
	printf("%s\n", result);
	return 0;
}
