# systemd/local.mk: the unit, its socket, and the sysusers.d and
# tmpfiles.d entries, installed in the directories pkg-config systemd
# names (configure --with-systemdsystemunitdir etc. override them).
systemdsystemunit_DATA = %D%/securechat.service %D%/securechat.socket
sysusers_DATA = %D%/securechat-sysusers.conf
tmpfiles_DATA = %D%/securechat-tmpfiles.conf
CLEANFILES += %D%/securechat.service %D%/securechat-tmpfiles.conf
EXTRA_DIST += %D%/securechat.service.in %D%/securechat-tmpfiles.conf.in \
	%D%/securechat.socket %D%/securechat-sysusers.conf

# sysusers.d and tmpfiles.d look for <package>.conf.
install-data-hook: install-systemd-rename
install-systemd-rename:
	cd $(DESTDIR)$(sysusersdir) && mv -f securechat-sysusers.conf securechat.conf
	cd $(DESTDIR)$(tmpfilesdir) && mv -f securechat-tmpfiles.conf securechat.conf
uninstall-local: uninstall-systemd-rename
uninstall-systemd-rename:
	rm -f $(DESTDIR)$(sysusersdir)/securechat.conf $(DESTDIR)$(tmpfilesdir)/securechat.conf

SYSTEMD_SUBST = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'
%D%/securechat.service: %D%/securechat.service.in Makefile
	$(MKDIR_P) %D%
	$(SYSTEMD_SUBST) $(srcdir)/%D%/securechat.service.in >$@
%D%/securechat-tmpfiles.conf: %D%/securechat-tmpfiles.conf.in Makefile
	$(MKDIR_P) %D%
	$(SYSTEMD_SUBST) $(srcdir)/%D%/securechat-tmpfiles.conf.in >$@
