// A kubelet device-manager peer on grpc-go, the kubelet's own gRPC library: it serves Registration on
// <dir>/kubelet.sock and, as pkg/kubelet/cm/devicemanager does, answers Register only after dialing the
// plugin (blocking, 10 s) and getting its options, then opens ListAndWatch. It stands in for a real
// kubelet where none can run: tests check our plugin against grpc-go's client, benches time it.
//
// Usage: kubelet-go -dir DIR [-legacy-authority]. -legacy-authority dials as kubelets before 1.26 did
// (the socket path as the target, so as HTTP/2 :authority: kubernetes/kubernetes#112597).
// Commands, one a line on stdin: "start" (remove the directory's sockets, then serve), "stop",
// "allocate RESOURCE ID[,ID...]". Events, one JSON object a line on stdout, "t" in ms since the latest
// start began: served, registered, snapshot (devices, healthy), allocated, stopped, error.
//
// v1beta1/ is generated from proto/ (protoc-gen-go from Debian's golang-google-protobuf-dev sources):
//
//	protoc -I proto --go_out=test/peers/kubelet-go --go_opt=paths=source_relative \
//	  --go-grpc_out=test/peers/kubelet-go --go-grpc_opt=paths=source_relative \
//	  --go_opt=Mdeviceplugin/v1beta1/api.proto=confcom/kubeletpeer/v1beta1 \
//	  --go-grpc_opt=Mdeviceplugin/v1beta1/api.proto=confcom/kubeletpeer/v1beta1 deviceplugin/v1beta1/api.proto
//
// (then move deviceplugin/v1beta1/*.go to v1beta1/).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	pb "confcom/kubeletpeer/v1beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

// Debian's grpc-go marshals with the old protobuf API; the generated messages are the current API's.
type codec struct{}

func (codec) Marshal(v interface{}) ([]byte, error)   { return proto.Marshal(v.(proto.Message)) }
func (codec) Unmarshal(b []byte, v interface{}) error { return proto.Unmarshal(b, v.(proto.Message)) }
func (codec) Name() string                            { return "proto" }

func init() { encoding.RegisterCodec(codec{}) }

const dialTimeout = 10 * time.Second

type peer struct {
	pb.UnimplementedRegistrationServer
	dir             string
	legacyAuthority bool

	mu      sync.Mutex
	t0      time.Time
	server  *grpc.Server
	plugins map[string]*grpc.ClientConn // by resource name
	out     *json.Encoder
}

func (p *peer) emit(ev map[string]interface{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev["t"] = float64(time.Since(p.t0).Microseconds()) / 1000
	_ = p.out.Encode(ev)
}

func (p *peer) fail(what string, err error) error {
	p.emit(map[string]interface{}{"ev": "error", "what": what, "err": err.Error()})
	return err
}

func (p *peer) dial(ctx context.Context, endpoint string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	opts := []grpc.DialOption{grpc.WithInsecure(), grpc.WithBlock(), grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", addr)
	})}
	if !p.legacyAuthority {
		opts = append(opts, grpc.WithAuthority("localhost"))
	}
	return grpc.DialContext(ctx, filepath.Join(p.dir, endpoint), opts...)
}

func (p *peer) Register(ctx context.Context, r *pb.RegisterRequest) (*pb.Empty, error) {
	if r.Version != "v1beta1" {
		return nil, p.fail("register", fmt.Errorf("requested API version %q is not supported", r.Version))
	}
	if r.Endpoint != filepath.Base(r.Endpoint) {
		return nil, p.fail("register", fmt.Errorf("endpoint %q is not a file name", r.Endpoint))
	}
	conn, err := p.dial(ctx, r.Endpoint)
	if err != nil {
		return nil, p.fail("dial", err)
	}
	client := pb.NewDevicePluginClient(conn)
	if _, err := client.GetDevicePluginOptions(ctx, &pb.Empty{}); err != nil {
		conn.Close()
		return nil, p.fail("options", err)
	}
	p.mu.Lock()
	if old := p.plugins[r.ResourceName]; old != nil {
		old.Close()
	}
	p.plugins[r.ResourceName] = conn
	p.mu.Unlock()
	p.emit(map[string]interface{}{"ev": "registered", "resource": r.ResourceName})
	go p.listAndWatch(r.ResourceName, client)
	return &pb.Empty{}, nil
}

func (p *peer) listAndWatch(resource string, client pb.DevicePluginClient) {
	stream, err := client.ListAndWatch(context.Background(), &pb.Empty{})
	if err != nil {
		p.fail("list-and-watch", err)
		return
	}
	for {
		res, err := stream.Recv()
		if err != nil {
			return // the plugin or we closed the connection
		}
		healthy := 0
		for _, d := range res.Devices {
			if d.Health == "Healthy" {
				healthy++
			}
		}
		p.emit(map[string]interface{}{"ev": "snapshot", "resource": resource, "devices": len(res.Devices), "healthy": healthy})
	}
}

func (p *peer) allocate(resource string, ids []string) {
	p.mu.Lock()
	conn := p.plugins[resource]
	p.mu.Unlock()
	if conn == nil {
		p.fail("allocate", fmt.Errorf("no plugin registered for %s", resource))
		return
	}
	res, err := pb.NewDevicePluginClient(conn).Allocate(context.Background(), &pb.AllocateRequest{ContainerRequests: []*pb.ContainerAllocateRequest{{DevicesIds: ids}}})
	if err != nil {
		p.fail("allocate", err)
		return
	}
	c := res.ContainerResponses[0]
	devices := []string{}
	for _, d := range c.Devices {
		devices = append(devices, d.ContainerPath)
	}
	p.emit(map[string]interface{}{"ev": "allocated", "resource": resource, "devices": devices, "envs": c.Envs})
}

func (p *peer) start() {
	p.mu.Lock()
	p.t0 = time.Now()
	p.mu.Unlock()
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		p.fail("start", err)
		return
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		p.fail("start", err)
		return
	}
	// The kubelet's CleanupPluginDirectory: every socket goes, which is the plugins' signal to re-register.
	for _, e := range entries {
		f := filepath.Join(p.dir, e.Name())
		if st, err := os.Stat(f); err == nil && st.Mode()&os.ModeSocket != 0 {
			os.Remove(f)
		}
	}
	ln, err := net.Listen("unix", filepath.Join(p.dir, "kubelet.sock"))
	if err != nil {
		p.fail("start", err)
		return
	}
	p.server = grpc.NewServer()
	pb.RegisterRegistrationServer(p.server, p)
	go p.server.Serve(ln)
	p.emit(map[string]interface{}{"ev": "served"})
}

func (p *peer) stop() {
	if p.server != nil {
		p.server.Stop() // closes the listener, which removes kubelet.sock
		p.server = nil
	}
	p.mu.Lock()
	for name, c := range p.plugins {
		c.Close()
		delete(p.plugins, name)
	}
	p.mu.Unlock()
	p.emit(map[string]interface{}{"ev": "stopped"})
}

func main() {
	dir := flag.String("dir", "", "the device-plugin directory")
	legacy := flag.Bool("legacy-authority", false, "dial plugins as kubelets before 1.26 (socket path as :authority)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: kubelet-go -dir DIR [-legacy-authority]")
		os.Exit(2)
	}
	p := &peer{dir: *dir, legacyAuthority: *legacy, plugins: map[string]*grpc.ClientConn{}, out: json.NewEncoder(os.Stdout), t0: time.Now()}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 1 && f[0] == "start":
			p.start()
		case len(f) == 1 && f[0] == "stop":
			p.stop()
		case len(f) == 3 && f[0] == "allocate":
			go p.allocate(f[1], strings.Split(f[2], ","))
		default:
			p.fail("command", fmt.Errorf("unknown command %q", in.Text()))
		}
	}
	p.stop()
}
