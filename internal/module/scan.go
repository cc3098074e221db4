package module

// sourceShape is what a cheap scan of a .proto file learns before the parser sees it:
// the parser's memory grows with the tokens it reads and, for unclosed or deep nesting,
// with the depth of its stack, so both are bounded first.
type sourceShape struct {
	// tokens counts tokens and comments, as the parser's lexer splits them.
	tokens int
	// depth is the deepest nesting of braces, brackets, parentheses and angle brackets.
	depth int
}

// scanLimitError is the first place a scan stopped at: where the file passed maxTokens
// tokens or maxDepth levels of nesting.
type scanLimitError struct {
	line, column int
	tokens       bool // tokens passed maxTokens; otherwise depth passed maxDepth
}

// scanSource measures content without allocating, stopping where it passes maxTokens
// tokens or maxDepth levels of nesting. It follows the lexer of protocompile's parser
// closely enough that the counts are within a small factor of the parser's: a number
// such as 1e-5 may count as three tokens. Whatever the parser would reject (a stray
// byte, an unterminated string) counts too; the parser reports it later.
func scanSource(content []byte, maxTokens, maxDepth int) (sourceShape, *scanLimitError) {
	var s sourceShape
	depth := 0
	line, lineStart := 1, 0
	for i := 0; i < len(content); {
		c := content[i]
		start := i
		i++
		switch {
		case c == '\n':
			line, lineStart = line+1, i
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			continue
		case c == '/' && i < len(content) && content[i] == '/':
			for i < len(content) && content[i] != '\n' {
				i++
			}
		case c == '/' && i < len(content) && content[i] == '*':
			for i++; i < len(content) && (content[i] != '*' || i+1 == len(content) || content[i+1] != '/'); i++ {
				if content[i] == '\n' {
					line, lineStart = line+1, i+1
				}
			}
			i += 2
		case c == '"' || c == '\'':
			for i < len(content) && content[i] != c && content[i] != '\n' {
				if content[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case isDigit(c) || (c == '.' && i < len(content) && isDigit(content[i])):
			// As the parser's lexer does, a number runs on over letters, digits, dots,
			// and signs after an exponent.
			for i < len(content) && (isIdentByte(content[i]) || content[i] == '.' ||
				((content[i] == '+' || content[i] == '-') && (content[i-1] == 'e' || content[i-1] == 'E'))) {
				i++
			}
		case isIdentByte(c):
			for i < len(content) && isIdentByte(content[i]) {
				i++
			}
		case c == '{' || c == '[' || c == '(' || c == '<':
			depth++
			if depth > s.depth {
				s.depth = depth
				if depth > maxDepth {
					return s, &scanLimitError{line: line, column: start - lineStart + 1}
				}
			}
		case c == '}' || c == ']' || c == ')' || c == '>':
			depth = max(depth-1, 0)
		}
		s.tokens++
		if s.tokens > maxTokens {
			return s, &scanLimitError{line: line, column: start - lineStart + 1, tokens: true}
		}
	}
	return s, nil
}

// isIdentByte reports whether c continues an identifier. Non-ASCII bytes do too, so that
// a multi-byte character counts once, not once a byte; the parser rejects them anyway.
func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
