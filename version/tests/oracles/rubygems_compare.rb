# Oracle for tests/versions_rubygems.rs: reads "A<TAB>B" lines and prints
# Gem::Version.new(A) <=> Gem::Version.new(B), or E when either is malformed.
require "rubygems"

STDIN.each_line do |line|
  a, b = line.chomp("\n").split("\t", -1)
  begin
    puts(Gem::Version.new(a) <=> Gem::Version.new(b))
  rescue ArgumentError
    puts "E"
  end
end
