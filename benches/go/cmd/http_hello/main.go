// Command http_hello is the Go twin of gort's examples/http_hello.rs: Go's
// net/http serving "Hello, World!" as text/plain, with keep-alive.
//
//	go run ./cmd/http_hello [ADDR]   (default 127.0.0.1:8080; 127.0.0.1:0 picks a free port)
//
// It prints "listening on http://ADDR/" as the Rust program does, then serves
// until killed. scripts/bench-compare.sh --programs loads both with
// wrk -t2 -c100 -d10s.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:8080"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "http_hello: cannot listen on %s: %v\n", addr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s/\n", l.Addr())
	hello := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	if err := http.Serve(l, nil); err != nil {
		fmt.Fprintln(os.Stderr, "http_hello:", err)
		os.Exit(1)
	}
}
