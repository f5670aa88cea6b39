// Command up serves misbehaving upstreams on fixed loopback ports for 60 s.
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func readReq(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := http.ReadRequest(bufio.NewReader(c))
	return err == nil
}

func serve(addr string, h func(net.Conn)) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go h(c)
		}
	}()
}

func main() {
	good := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"))
		}
	}
	serve("127.0.0.1:18081", good)
	serve("127.0.0.1:18083", func(c net.Conn) { // close before headers
		readReq(c)
		c.Close()
	})
	serve("127.0.0.1:18084", func(c net.Conn) { // reset before headers
		readReq(c)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	serve("127.0.0.1:18085", func(c net.Conn) { // garbage status line
		readReq(c)
		c.Write([]byte("HTTP/1.1 abc garbage\r\nContent-Length: 0\r\n\r\n"))
		time.Sleep(100 * time.Millisecond)
		c.Close()
	})
	serve("127.0.0.1:18086", func(c net.Conn) { // hang
		readReq(c)
		time.Sleep(5 * time.Second)
		c.Close()
	})
	serve("127.0.0.1:18087", func(c net.Conn) { // reset mid-body
		readReq(c)
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"))
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	fmt.Println("ready")
	time.Sleep(60 * time.Second)
}
