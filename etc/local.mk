# etc/local.mk: the sample configuration.  make install never replaces a
# configuration that exists: the operator's edits win, and the new
# sample is left beside it as securechat.conf.new.
EXTRA_DIST += %D%/securechat.conf
install-data-local: install-sample-conf
install-sample-conf:
	$(MKDIR_P) $(DESTDIR)$(sysconfdir)
	@if [ -e $(DESTDIR)$(sysconfdir)/securechat.conf ]; then \
		echo "$(DESTDIR)$(sysconfdir)/securechat.conf exists: not replaced; the sample is securechat.conf.new"; \
		$(INSTALL_DATA) $(srcdir)/%D%/securechat.conf $(DESTDIR)$(sysconfdir)/securechat.conf.new; \
	else \
		$(INSTALL_DATA) $(srcdir)/%D%/securechat.conf $(DESTDIR)$(sysconfdir)/securechat.conf; \
	fi
uninstall-local: uninstall-sample-conf
# An edited configuration is the operator's: removed only when unchanged.
uninstall-sample-conf:
	rm -f $(DESTDIR)$(sysconfdir)/securechat.conf.new
	if cmp -s $(srcdir)/%D%/securechat.conf $(DESTDIR)$(sysconfdir)/securechat.conf; then \
		rm -f $(DESTDIR)$(sysconfdir)/securechat.conf; fi
