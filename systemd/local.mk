systemdunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d
systemdunit_DATA = %D%/securechat.service
CLEANFILES += %D%/securechat.service
EXTRA_DIST += %D%/securechat.service.in

install-data-local: install-systemd-extras
install-systemd-extras:
	$(MKDIR_P) $(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir)
	$(INSTALL_DATA) $(srcdir)/%D%/securechat-sysusers.conf $(DESTDIR)$(sysusersdir)/securechat.conf
	$(INSTALL_DATA) $(srcdir)/%D%/securechat-tmpfiles.conf $(DESTDIR)$(tmpfilesdir)/securechat.conf
uninstall-local:
	rm -f $(DESTDIR)$(sysusersdir)/securechat.conf $(DESTDIR)$(tmpfilesdir)/securechat.conf
EXTRA_DIST += %D%/securechat-sysusers.conf %D%/securechat-tmpfiles.conf

%D%/securechat.service: %D%/securechat.service.in Makefile
	$(MKDIR_P) %D%
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/%D%/securechat.service.in >$@
