# tlstrunk.ini.awk - /etc/tlstrunk/tlstrunk.ini of the Debian package from
# config/tlstrunk.ini.example: the same file with the key lines under a
# "SITE" comment commented out, so that `tlstrunk -t` (the unit's
# ExecStartPre) refuses it until the administrator has set them: the
# package never starts calls toward a placeholder trunk or PBX.
BEGIN {
	print "; /etc/tlstrunk/tlstrunk.ini - tlstrunk's configuration (Debian package)."
	print ";"
	print "; Installed with the keys marked SITE commented out: until they are set,"
	print "; `tlstrunk -t` refuses this file and tlstrunk.service, which the package"
	print "; does not enable, would not start.  Set them, check, then enable:"
	print ";"
	print ";     tlstrunk -t -c /etc/tlstrunk/tlstrunk.ini"
	print ";     systemctl enable --now tlstrunk"
	print ";"
	print "; Certificates and keys: /etc/tlstrunk/tls/ (0750 root:tlstrunk)."
	print "; The keys: man tlstrunk; this file as shipped:"
	print "; /usr/share/doc/tlstrunk/tlstrunk.ini.example."
	print ""
	comment = 0
	site = 0
}
/^;/ {
	if (!comment)
		site = 0
	comment = 1
	if ($0 ~ /SITE/)
		site = 1
	print
	next
}
{ comment = 0 }
/^[ \t]*$/ || /^\[/ { site = 0 }
site && /^[A-Za-z_]+[ \t]*=/ { print ";" $0; next }
{ print }
