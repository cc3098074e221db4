// Command bundled stands in for the lathe binary in tests: it becomes the plugin when
// protoc is appended to it.
package main

import (
	"fmt"

	"github.com/lathe-registry/lathe/internal/plugin/protocpy"
)

func main() {
	protocpy.Main()
	fmt.Println("no bundled protoc")
}
