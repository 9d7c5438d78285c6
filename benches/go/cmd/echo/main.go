// Command echo is the Go twin of gort's examples/echo.rs: a TCP echo server
// and its clients in one program, one goroutine per connection on the server
// and one per client, 64-byte messages on loopback.
//
//	go run ./cmd/echo [CLIENTS] [ROUND_TRIPS]   (default 100 x 1000)
//
// It checks every echo and prints the round trips per second, in the same
// format as the Rust program, for scripts/bench-compare.sh --programs.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func arg(i int, def int) int {
	if len(os.Args) <= i {
		return def
	}
	v, err := strconv.Atoi(os.Args[i])
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: argument %d must be a number\n", i)
		os.Exit(2)
	}
	return v
}

func serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

func main() {
	clients, rounds := arg(1, 100), arg(2, 1000)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	go serve(l)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := net.Dial("tcp", addr)
			if err != nil {
				fmt.Fprintln(os.Stderr, "connect:", err)
				os.Exit(1)
			}
			defer s.Close()
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			for i := 0; i < rounds; i++ {
				for j := range msg {
					msg[j] = byte(c + i)
				}
				if _, err := s.Write(msg); err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(1)
				}
				if _, err := io.ReadFull(s, buf); err != nil {
					fmt.Fprintln(os.Stderr, "read:", err)
					os.Exit(1)
				}
				if !bytes.Equal(buf, msg) {
					fmt.Fprintf(os.Stderr, "client %d: wrong echo in round %d\n", c, i)
					os.Exit(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	total := clients * rounds
	fmt.Printf("echo: %d round trips ok (%d clients x %d)\n", total, clients, rounds)
	fmt.Printf("rate: %.0f round trips/s\n", float64(total)/secs)
}
